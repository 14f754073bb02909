// The dashboard: a session gate, then the shell (navigation and workspace switcher) around the
// page the URL names. Routes live in the hash (/#/w/<workspace>/activity) so that no dashboard
// path can collide with a Postmark API path served by the same server.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { HashRouter } from "react-router";
import { SessionProvider, useSession } from "./session";
import { SignInPage } from "./pages/sign-in.page";
import { DashboardRoutes } from "./routes";
import { Loading } from "./ui/states";

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal is an answer: retrying a 403 or a 404 only delays the message.
      retry: (failures, error) => failures < 2 && !(error instanceof Error && "status" in error && Number((error as { status: number }).status) < 500),
      staleTime: 5_000,
      refetchOnWindowFocus: true,
    },
  },
});

export function App() {
  return (
    <QueryClientProvider client={queries}>
      <SessionProvider>
        <HashRouter>
          <Gate />
        </HashRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}

function Gate() {
  const { session, loading } = useSession();
  if (loading) return <Loading label="Opening the dashboard" />;
  if (!session) return <SignInPage />;
  return <DashboardRoutes />;
}
