import { NavLink, Outlet, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { getApiKey, maskKey, setApiKey } from "../lib/auth";
import { useTheme } from "../lib/theme";
import { IconGuardrails, IconLogo, IconLogout, IconMoon, IconOverview, IconPrompts, IconScores, IconSessions, IconSun, IconTraces, IconUsers } from "./Icons";

const NAV = [
  { to: "/", label: "Overview", Icon: IconOverview },
  { to: "/traces", label: "Traces", Icon: IconTraces },
  { to: "/sessions", label: "Sessions", Icon: IconSessions },
  { to: "/users", label: "Users", Icon: IconUsers },
  { to: "/guardrails", label: "Guardrails", Icon: IconGuardrails },
  { to: "/scores", label: "Scores", Icon: IconScores },
  { to: "/prompts", label: "Prompts", Icon: IconPrompts },
];

export function ThemeToggle() {
  const [theme, toggle] = useTheme();
  return (
    <button
      type="button"
      className="btn btn-ghost theme-toggle"
      onClick={toggle}
      aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
      data-testid="theme-toggle"
    >
      {theme === "dark" ? <IconSun /> : <IconMoon />}
      <span>{theme === "dark" ? "Light mode" : "Dark mode"}</span>
    </button>
  );
}

export function Layout() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const key = getApiKey() ?? "";
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <IconLogo />
          <div>
            <div className="brand-name">OTelGuard</div>
            <div className="brand-sub">LLM observability</div>
          </div>
        </div>
        <nav className="nav" aria-label="Main">
          {NAV.map(({ to, label, Icon }) => (
            <NavLink key={to} to={to} end={to === "/"} className={({ isActive }) => `nav-item${isActive ? " active" : ""}`}>
              <Icon />
              <span>{label}</span>
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-foot">
          <ThemeToggle />
          <div className="key-chip" title="Signed in with this API key">
            <span className="dot" />
            <code>{maskKey(key)}</code>
            <button
              type="button"
              className="icon-btn"
              aria-label="Sign out"
              title="Sign out"
              onClick={() => {
                setApiKey(null);
                client.clear();
                navigate("/sign-in");
              }}
            >
              <IconLogout />
            </button>
          </div>
        </div>
      </aside>
      <main className="main">
        <Outlet />
      </main>
    </div>
  );
}
