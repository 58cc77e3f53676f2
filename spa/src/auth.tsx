// Who is logged in. GET /api/auth/me on start; any 401 later (UnauthorizedError) drops the user
// back to the login page with `next` set so they return where they were.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, UnauthorizedError, type Me } from "./api";

interface AuthState {
  me: Me | null;
  checked: boolean;
  login: (username: string, password: string) => Promise<Me>;
  logout: () => Promise<void>;
  expire: () => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    api
      .me()
      .then(setMe)
      .catch(() => setMe(null))
      .finally(() => setChecked(true));
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const who = await api.login(username, password);
    const confirmed = await api.me().catch(() => who);
    setMe(confirmed);
    return confirmed;
  }, []);

  const logout = useCallback(async () => {
    await api.logout().catch(() => undefined);
    setMe(null);
  }, []);

  const expire = useCallback(() => setMe(null), []);

  return (
    <AuthContext.Provider value={{ me, checked, login, logout, expire }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}

/** Runs an API call; a 401 logs the user out locally so the router shows the login page. */
export function useApiCall() {
  const { expire } = useAuth();
  return useCallback(
    async <T,>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (error instanceof UnauthorizedError) expire();
        throw error;
      }
    },
    [expire],
  );
}
