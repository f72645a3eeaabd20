export function Skeleton({ width = "100%", height = 14 }: { width?: number | string; height?: number }) {
  return <span className="skeleton" style={{ width, height }} aria-hidden="true" />;
}

export function TableSkeleton({ columns, rows = 8 }: { columns: number; rows?: number }) {
  return (
    <tbody aria-busy="true" aria-label="Loading">
      {Array.from({ length: rows }, (_, r) => (
        <tr key={r} className="skeleton-row">
          {Array.from({ length: columns }, (_, c) => (
            <td key={c}>
              <Skeleton width={`${45 + ((r * 7 + c * 13) % 45)}%`} />
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  );
}

/** The header of a detail page while it loads: a back link, a title and a row of stat cards. */
export function DetailHeaderSkeleton({ titleWidth, stats = 6 }: { titleWidth: string; stats?: number }) {
  return (
    <>
      <Skeleton width={120} height={14} />
      <div style={{ height: 16 }} />
      <Skeleton width={titleWidth} height={28} />
      <div className="stats" style={{ marginTop: 20 }}>
        {Array.from({ length: stats }, (_, i) => (
          <div key={i} className="stat">
            <Skeleton width="50%" height={10} />
            <div style={{ height: 8 }} />
            <Skeleton width="70%" height={18} />
          </div>
        ))}
      </div>
    </>
  );
}
