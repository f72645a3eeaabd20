/** A few stroke icons (24×24 grid, lucide-like), inline so the bundle needs no icon library. */
import type { SVGProps } from "react";

type P = SVGProps<SVGSVGElement>;
const base = (props: P, children: React.ReactNode) => (
  <svg
    width="16"
    height="16"
    viewBox="0 0 24 24"
    fill="none"
    stroke="currentColor"
    strokeWidth={1.8}
    strokeLinecap="round"
    strokeLinejoin="round"
    aria-hidden="true"
    {...props}
  >
    {children}
  </svg>
);

export const IconTraces = (p: P) => base(p, <><path d="M3 6h13" /><path d="M7 12h14" /><path d="M5 18h9" /></>);
export const IconSessions = (p: P) =>
  base(p, <><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" /></>);
export const IconUsers = (p: P) =>
  base(p, <><circle cx="9" cy="8" r="4" /><path d="M2 21a7 7 0 0 1 14 0" /><path d="M16 4a4 4 0 0 1 0 8" /><path d="M22 21a7 7 0 0 0-4-6.3" /></>);
export const IconOverview = (p: P) =>
  base(p, <><path d="M3 3v18h18" /><path d="m7 15 4-4 3 3 6-6" /></>);
export const IconGuardrails = (p: P) =>
  base(p, <><path d="M12 3l8 3v6c0 5-3.5 8.5-8 9.5-4.5-1-8-4.5-8-9.5V6z" /><path d="m9 12 2 2 4-4" /></>);
export const IconSun = (p: P) =>
  base(p, <><circle cx="12" cy="12" r="4" /><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" /></>);
export const IconMoon = (p: P) => base(p, <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />);
export const IconSearch = (p: P) => base(p, <><circle cx="11" cy="11" r="7" /><path d="m21 21-4.3-4.3" /></>);
export const IconCopy = (p: P) =>
  base(p, <><rect x="9" y="9" width="13" height="13" rx="2" /><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1" /></>);
export const IconCheck = (p: P) => base(p, <path d="M20 6 9 17l-5-5" />);
export const IconChevron = (p: P) => base(p, <path d="m9 18 6-6-6-6" />);
export const IconArrowLeft = (p: P) => base(p, <><path d="M19 12H5" /><path d="m12 19-7-7 7-7" /></>);
export const IconLogout = (p: P) =>
  base(p, <><path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4" /><path d="m16 17 5-5-5-5" /><path d="M21 12H9" /></>);
export const IconX = (p: P) => base(p, <><path d="M18 6 6 18" /><path d="m6 6 12 12" /></>);
export const IconAlert = (p: P) =>
  base(p, <><circle cx="12" cy="12" r="10" /><path d="M12 8v4" /><path d="M12 16h.01" /></>);
export const IconSort = (p: P) => base(p, <><path d="m7 15 5 5 5-5" /><path d="m7 9 5-5 5 5" /></>);
export const IconSortDown = (p: P) => base(p, <path d="m6 9 6 6 6-6" />);
export const IconSortUp = (p: P) => base(p, <path d="m18 15-6-6-6 6" />);
export const IconRefresh = (p: P) =>
  base(p, <><path d="M21 12a9 9 0 1 1-3-6.7L21 8" /><path d="M21 3v5h-5" /></>);
export const IconPrompts = (p: P) =>
  base(p, <><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" /><path d="M14 3v5h5" /><path d="m9.5 12-2 2 2 2" /><path d="m14.5 12 2 2-2 2" /></>);
export const IconFolder = (p: P) =>
  base(p, <path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" />);
export const IconScores = (p: P) =>
  base(p, <><path d="M12 3l2.6 5.6 6.1.7-4.5 4.2 1.2 6L12 16.6 6.6 19.5l1.2-6L3.3 9.3l6.1-.7z" /></>);
export const IconDiff = (p: P) =>
  base(p, <><path d="M12 3v18" /><rect x="3" y="5" width="6" height="14" rx="1.5" /><rect x="15" y="5" width="6" height="14" rx="1.5" /></>);

export const IconLogo = (p: P) => (
  <svg width="28" height="28" viewBox="0 0 32 32" aria-hidden="true" {...p}>
    <rect width="32" height="32" rx="8" fill="var(--accent)" />
    <path
      d="M16 6l8 3.2v6.3c0 5-3.4 9-8 10.5-4.6-1.5-8-5.5-8-10.5V9.2z"
      fill="none"
      stroke="#fff"
      strokeWidth="2.2"
      strokeLinejoin="round"
    />
    <circle cx="16" cy="15.5" r="3" fill="#fff" />
  </svg>
);

/** Span kinds: llm, tool, agent, chain, retriever, embedding, guardrail, evaluator, other. */
export const KIND_ICONS: Record<string, (p: P) => React.ReactElement> = {
  llm: (p) => base(p, <path d="M12 3l1.9 5.1L19 10l-5.1 1.9L12 17l-1.9-5.1L5 10l5.1-1.9z" />),
  tool: (p) =>
    base(p, <path d="M14.7 6.3a4 4 0 0 0 5 5L21 13l-8 8-3-3 8-8-1.3-1.3a4 4 0 0 1-5-5L13 2z M3 21l6-6" />),
  agent: (p) =>
    base(p, <><rect x="4" y="8" width="16" height="12" rx="3" /><path d="M12 8V4" /><circle cx="9" cy="14" r="1" /><circle cx="15" cy="14" r="1" /></>),
  chain: (p) =>
    base(p, <><path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7" /><path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7" /></>),
  retriever: (p) => base(p, <><circle cx="11" cy="11" r="7" /><path d="m21 21-4.3-4.3" /></>),
  embedding: (p) =>
    base(p, <><path d="m12 2 10 5-10 5L2 7z" /><path d="m2 17 10 5 10-5" /><path d="m2 12 10 5 10-5" /></>),
  guardrail: (p) => base(p, <path d="M12 3l8 3v6c0 5-3.5 8.5-8 9.5-4.5-1-8-4.5-8-9.5V6z" />),
  evaluator: (p) => base(p, <><circle cx="12" cy="12" r="9" /><path d="m8 12 3 3 5-6" /></>),
  other: (p) => base(p, <circle cx="12" cy="12" r="4" />),
};
