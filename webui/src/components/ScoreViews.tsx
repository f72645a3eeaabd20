/** Score building blocks shared by the trace page and the scores page: a value chip by data type, a source
 * badge, one score with its evaluator and collapsible comment, and the waterfall's score marker. */
import { Link } from "react-router";
import { formatRelative, formatTimestamp } from "../lib/format";
import { evaluatorLabel, scoreMarker, scoreValue, sourceLabel, type Score } from "../lib/scoreFormat";
import "../scores.css";

export function ScoreValue({ score }: { score: Pick<Score, "data_type" | "value" | "string_value"> }) {
  const v = scoreValue(score);
  return (
    <span className={`score-value score-${v.tone}`} title={v.title} data-testid="score-value">
      {v.tone === "pass" && <span aria-hidden="true">✓</span>}
      {v.tone === "fail" && <span aria-hidden="true">✕</span>}
      {v.text}
    </span>
  );
}

export function SourceBadge({ source }: { source: string }) {
  return (
    <span className={`score-source source-${source}`} title={`Source: ${source}`}>
      {sourceLabel(source)}
    </span>
  );
}

/** One score: name and value, source, evaluator and time; the comment (an evaluator's reasoning, a
 * user's words) folds away behind a one-line preview. */
export function ScoreEntry({ score, showName = true, linkName = true }: { score: Score; showName?: boolean; linkName?: boolean }) {
  const evaluator = evaluatorLabel(score);
  return (
    <div className="score-entry" data-testid="score-entry" data-score-name={score.name}>
      <div className="score-entry-head">
        {showName &&
          (linkName ? (
            <Link to={`/scores?name=${encodeURIComponent(score.name)}`} className="score-name" title={`Open the ${score.name} score`}>
              {score.name}
            </Link>
          ) : (
            <span className="score-name">{score.name}</span>
          ))}
        <span className="spacer" />
        <ScoreValue score={score} />
      </div>
      <div className="score-entry-meta">
        <SourceBadge source={score.source} />
        {evaluator && (
          <span className="score-evaluator mono" title="Evaluator · version">
            {evaluator}
          </span>
        )}
        <span className="spacer" />
        <span className="faint small nowrap" title={formatTimestamp(score.timestamp)}>
          {formatRelative(score.timestamp)}
        </span>
      </div>
      {score.comment && (
        <details className="score-comment">
          <summary>
            <span className="score-comment-label">{score.source === "evaluator" ? "Reasoning" : "Comment"}</span>
            <span className="score-comment-preview">{score.comment}</span>
          </summary>
          <p>{score.comment}</p>
        </details>
      )}
    </div>
  );
}

export function ScoreList({ scores, testId }: { scores: Score[]; testId?: string }) {
  return (
    <div className="score-list" data-testid={testId}>
      {scores.map((s) => (
        <ScoreEntry key={s.id} score={s} />
      ))}
    </div>
  );
}

/** A small count on a waterfall row; red when a boolean score of the span failed. */
export function ScoreMarker({ scores }: { scores: Score[] }) {
  const m = scoreMarker(scores);
  return (
    <span className={`wf-score${m.failed ? " has-fail" : ""}`} title={m.title} aria-label={m.title} data-testid="wf-score">
      <svg width="11" height="11" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2.4} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
        <path d="M12 3l2.6 5.6 6.1.7-4.5 4.2 1.2 6L12 16.6 6.6 19.5l1.2-6L3.3 9.3l6.1-.7z" />
      </svg>
      {m.count}
    </span>
  );
}
