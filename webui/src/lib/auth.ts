/** The API key lives in sessionStorage: it is gone when the tab closes. */
const KEY = "otelguard.apiKey";
const listeners = new Set<() => void>();

export function getApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn());
}

export function subscribeApiKey(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "sk-abc…wxyz": for display; the full key is only ever copied. */
export function maskKey(key: string): string {
  return key.length <= 10 ? "•".repeat(key.length) : `${key.slice(0, 6)}…${key.slice(-4)}`;
}
