"""Toxicity / profanity validators: true positives (incl. obfuscated spellings), true negatives and the
false-positive traps a naive word list falls into (Scunthorpe, assassin, cum laude, "shoot you an email")."""

from __future__ import annotations

import time

import pytest

from conftest import Detect
from otelguard.guardrails.base import Finding
from otelguard.guardrails.registry import ParamsError, bind
from otelguard.guardrails.validators.toxicity import load_lexicon, normalize


def score(detect: Detect, text: str, params: dict[str, object] | None = None) -> float:
    return bind("toxicity", params).score(detect("toxicity", text, params))


def terms(text: str, found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start or 0 : f.end or 0]) for f in found if f.has_span]


@pytest.mark.parametrize(
    ("text", "entity", "term"),
    [
        ("This is fucking broken", "PROFANITY", "fucking"),
        ("what a load of BULLSHIT", "PROFANITY", "BULLSHIT"),
        ("f*ck this", "PROFANITY", "f*ck"),
        ("f**k off", "PROFANITY", "f**k"),
        ("sh1t happens", "PROFANITY", "sh1t"),
        ("what an @sshole", "PROFANITY", "@sshole"),
        ("fuuuuck", "PROFANITY", "fuuuuck"),
        ("what the f u c k", "PROFANITY", "f u c k"),
        ("F.U.C.K.", "PROFANITY", "F.U.C.K"),
        ("\uff46\uff55\uff43\uff4b", "PROFANITY", "\uff46\uff55\uff43\uff4b"),  # full-width (NFKC)
        ("fück", "PROFANITY", "fück"),  # diacritics stripped
        ("fu\u0441k", "PROFANITY", "fu\u0441k"),  # Cyrillic es inside a Latin word
        ("fu\u200bck", "PROFANITY", "fu\u200bck"),  # zero-width space
        ("you are an idiot", "INSULT", "idiot"),
        ("what a piece of shit", "INSULT", "piece of shit"),
        ("I will kill you", "THREAT", "I will kill you"),
        ("I\u2019ll kill you tomorrow", "THREAT", "I\u2019ll kill you"),
        ("I know where you live", "THREAT", "I know where you live"),
        ("just kys", "THREAT", "kys"),
        ("Immigrants are vermin", "HATE", "Immigrants are vermin"),
        ("they are all f@ggots", "HATE", "f@ggots"),
        ("send nudes", "SEXUAL", "send nudes"),
    ],
)
def test_true_positives(detect: Detect, text: str, entity: str, term: str) -> None:
    found = detect("toxicity", text)
    assert (entity, term) in terms(text, found), found
    summary = found[-1]
    assert summary.entity == "TOXICITY" and summary.start is None and summary.score >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United won 2-1 at Glanford Park.",
        "Assassin's Creed is a game series about an assassin.",
        "She graduated magna cum laude in 2019.",
        "The flat has a kitchen-cum-dining room.",
        "I'll shoot you an email with the details.",
        "Finally, a chink in the armour of the champion.",
        "The kitchen was spic and span.",
        "Run kill -9 to kill the process, then kill them all with pkill.",
        "I'll beat you at chess, and I'll cut you some slack on time.",
        "The cocktail class passed the assessment; Dick Van Dyke sang.",
        "Moby Dick is a novel. Shiitake mushrooms are tasty.",
        "Additives retard the corrosion of steel.",
        "Check the tranny fluid before the trip.",
        "Room 455 costs $55; compute a*s + b**c in the loop.",
        "Analysis of the therapist's notes: a classic passage.",
        "Please summarise the attached quarterly report.",
        "",
    ],
)
def test_true_negatives_and_traps(detect: Detect, text: str) -> None:
    assert detect("toxicity", text) == []


def test_allowlist_does_not_hide_a_real_threat(detect: Detect) -> None:
    text = "I'll shoot you and your family"
    assert ("THREAT", "I'll shoot you") in terms(text, detect("toxicity", text))


def test_offsets_map_back_to_the_original_text(detect: Detect) -> None:
    text = "Ünïcödé ok — then \uff46\uff55\uff43\uff4b and fück"
    assert terms(text, detect("toxicity", text)) == [
        ("PROFANITY", "\uff46\uff55\uff43\uff4b"),
        ("PROFANITY", "fück"),
    ]


def test_adjacent_repeats_are_all_found(detect: Detect) -> None:
    found = detect("toxicity", "fuck fuck fuck")
    assert [f.start for f in found if f.has_span] == [0, 5, 10]


def test_previews_never_show_the_term(detect: Detect) -> None:
    found = detect("toxicity", "you cunt")
    assert [f.preview for f in found if f.has_span] == ["c***"]


def test_directed_insults_weigh_more(detect: Detect) -> None:
    assert score(detect, "That plan is stupid.") < 0.5 <= score(detect, "You're stupid.")
    assert score(detect, "fuck you") == 1.0


def test_density_mild_words_fail_only_when_frequent(detect: Detect) -> None:
    filler = "The report covers revenue, costs and the plan for next year in some detail. " * 6
    assert score(detect, filler + "Damn.") < 0.5  # one mild word in a long text
    assert score(detect, "damn damn crap damn this") >= 0.5  # dense
    # A severe term fails any text, however long.
    assert score(detect, filler * 5 + "I will kill you.") == 1.0


def test_categories_weights_and_extra_terms(detect: Detect) -> None:
    text = "you idiot, I will kill you"
    only_threat = detect("toxicity", text, {"categories": ["threat"]})
    assert {f.entity for f in only_threat} == {"THREAT", "TOXICITY"}
    assert score(detect, "damn it", {"weights": {"profanity": 3}}) == pytest.approx(0.6)
    assert score(detect, "damn it", {"minSeverity": 0.3}) == 0.0
    custom = {"extraTerms": [{"term": "frak", "category": "profanity", "severity": 0.7}]}
    assert terms("what the fr@k", detect("toxicity", "what the fr@k", custom)) == [("PROFANITY", "fr@k")]
    assert detect("toxicity", "Son of a bitch!", {"allow": ["son of a  bitch"]}) == []


def test_profanity_validator_defaults_to_profanity_and_sexual(detect: Detect) -> None:
    assert detect("profanity", "I will kill you") == []
    found = detect("profanity", "holy shit, send nudes")
    assert {f.entity for f in found} == {"PROFANITY", "SEXUAL", "TOXICITY"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"categories": ["rude"]}, r"params\.categories\[0\]"),
        ({"categories": []}, r"params\.categories"),
        ({"weights": {"threat": -1}}, r"params\.weights\.threat"),
        ({"allow": ["  "]}, "no visible characters"),
        ({"extraTerms": [{"term": "two words"}]}, r"params\.extraTerms\[0\]\.term"),
        ({"bogus": 1}, "unknown parameter"),
    ],
)
def test_bad_params(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        bind("toxicity", params)


def test_lexicon_is_well_formed() -> None:
    entries = load_lexicon().entries
    cats = {e.category for e in entries}
    assert cats == {"profanity", "insult", "threat", "hate", "sexual", "allow"}
    assert all(0 < e.severity <= 1 for e in entries if e.category != "allow")
    assert len(entries) > 100


def test_normalize_keeps_an_offset_map() -> None:
    assert normalize("ASCII Text") == ("ascii text", None)
    norm, index = normalize("Straße \uff46")
    assert norm == "strasse f" and index is not None and len(index) == len(norm) + 1
    assert index[5] == index[4] == 4  # both s of "ß" map to it


def test_linear_time_on_adversarial_input(detect: Detect) -> None:
    text = ("k" + "1" * 5000 + " ") * 4 + "s h i " * 2000
    started = time.perf_counter()
    detect("toxicity", text)
    assert time.perf_counter() - started < 1.0
