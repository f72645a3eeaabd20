import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router";
import { ApiError, apiGet } from "../lib/api";
import { setApiKey } from "../lib/auth";
import { IconAlert, IconLogo } from "../components/Icons";
import { ThemeToggle } from "../components/Layout";

export function SignIn() {
  const navigate = useNavigate();
  const location = useLocation();
  const reason = (location.state as { reason?: string } | null)?.reason;
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(reason ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Paste an API key to continue.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await apiGet("/traces", { limit: 1 }, trimmed);
      setApiKey(trimmed);
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== "/sign-in" ? from : "/", { replace: true });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        setError("That API key was not accepted. Check it and try again.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <div className="signin-theme">
        <ThemeToggle />
      </div>
      <form className="signin-card" onSubmit={submit} noValidate>
        <div className="signin-brand">
          <IconLogo width={40} height={40} />
          <h1>Sign in to OTelGuard</h1>
          <p className="muted">Paste a project API key. It stays in this browser tab only.</p>
        </div>
        <label className="field">
          <span>API key</span>
          <input
            type="password"
            autoFocus
            autoComplete="off"
            spellCheck={false}
            placeholder="OTELGUARD_API_KEY or a key from otelguard keys create"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-invalid={error ? true : undefined}
            name="api-key"
          />
        </label>
        {error && (
          <div className="form-error" role="alert">
            <IconAlert />
            <span>{error}</span>
          </div>
        )}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? "Checking…" : "Continue"}
        </button>
        <p className="signin-hint muted small">
          Running locally? Start the platform with <code>OTELGUARD_API_KEY=… otelguard up</code> and use that key, or
          create one with <code>otelguard keys create</code>.
        </p>
      </form>
    </div>
  );
}
