import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useSyncExternalStore } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { ApiError } from "./lib/api";
import { getApiKey, setApiKey, subscribeApiKey } from "./lib/auth";
import { Layout } from "./components/Layout";
import { toast, Toaster } from "./components/Toast";
import { SignIn } from "./pages/SignIn";
import { Traces } from "./pages/Traces";
import { TraceDetail } from "./pages/TraceDetail";
import { Sessions } from "./pages/Sessions";
import { Users } from "./pages/Users";
import { Overview } from "./pages/Overview";
import { UserDetail } from "./pages/UserDetail";
import { GuardrailEvents } from "./pages/GuardrailEvents";
import { Skeleton } from "./components/Skeleton";

// Pages opened less often load on demand, keeping the first render (traces, overview) small.
const Prompts = lazy(() => import("./pages/Prompts").then((m) => ({ default: m.Prompts })));
const PromptDetail = lazy(() => import("./pages/PromptDetail").then((m) => ({ default: m.PromptDetail })));
const SessionDetail = lazy(() => import("./pages/SessionDetail").then((m) => ({ default: m.SessionDetail })));
const Compare = lazy(() => import("./pages/Compare").then((m) => ({ default: m.Compare })));
const Scores = lazy(() => import("./pages/Scores").then((m) => ({ default: m.Scores })));

function Lazy({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<Skeleton height={240} />}>{children}</Suspense>;
}

function onError(err: unknown) {
  if (err instanceof ApiError && err.status === 401) {
    setApiKey(null); // RequireKey sends the user to the sign-in screen
    toast("error", "Signed out", "The API key is no longer accepted.");
    return;
  }
  if (err instanceof ApiError && err.status === 404) return; // pages show their own not-found state
  toast("error", "Request failed", err instanceof Error ? err.message : String(err));
}

const client = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
    },
  },
});

function RequireKey({ children }: { children: React.ReactNode }) {
  const key = useSyncExternalStore(subscribeApiKey, getApiKey);
  const location = useLocation();
  if (!key) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

export function App() {
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <Routes>
          <Route path="/sign-in" element={<SignIn />} />
          <Route
            element={
              <RequireKey>
                <Layout />
              </RequireKey>
            }
          >
            <Route index element={<Overview />} />
            <Route path="/traces" element={<Traces />} />
            <Route path="/traces/:traceId" element={<TraceDetail />} />
            <Route path="/sessions" element={<Sessions />} />
            <Route path="/sessions/:sessionId" element={<Lazy><SessionDetail /></Lazy>} />
            <Route path="/compare" element={<Lazy><Compare /></Lazy>} />
            <Route path="/users" element={<Users />} />
            <Route path="/users/:userId" element={<UserDetail />} />
            <Route path="/guardrails" element={<GuardrailEvents />} />
            <Route path="/scores" element={<Lazy><Scores /></Lazy>} />
            <Route path="/prompts" element={<Lazy><Prompts /></Lazy>} />
            <Route path="/prompts/:name" element={<Lazy><PromptDetail /></Lazy>} />
          </Route>
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </BrowserRouter>
      <Toaster />
    </QueryClientProvider>
  );
}
