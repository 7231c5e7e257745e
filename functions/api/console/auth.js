// How an operator signs in, and the access token this tab keeps (sessionStorage: gone
// with the tab, never in a cookie). In AWS: Cognito's hosted UI, authorization code with
// PKCE (RFC 7636), a public client without a secret. Locally: the development token
// make run mints through its stand-in for the authorizer.

const TOKEN = "console.token";
const PENDING = "console.pkce";

function randomString(length) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"[b % 66]).join("");
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return location.origin + location.pathname;
}

function keep(body) {
  const expiresAt = Date.now() + (Number(body.expires_in) || 3600) * 1000;
  sessionStorage.setItem(TOKEN, JSON.stringify({ value: body.access_token, expiresAt }));
}

export function token() {
  const kept = JSON.parse(sessionStorage.getItem(TOKEN) || "null");
  return kept && kept.expiresAt > Date.now() + 5000 ? kept.value : null;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
}

export async function signIn(signInConfig) {
  if (signInConfig.mode === "development") {
    const response = await fetch(signInConfig.tokenPath, { method: "POST" });
    if (!response.ok) throw new Error(`the development sign-in answered ${response.status}`);
    keep(await response.json());
    return;
  }
  if (!signInConfig.authorizeUrl || !signInConfig.clientId) {
    throw new Error("this deployment has no console sign-in configured");
  }
  const verifier = randomString(64);
  const state = randomString(32);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const url = new URL(signInConfig.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: signInConfig.clientId,
    redirect_uri: redirectUri(),
    scope: signInConfig.scope,
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

// Back from the hosted UI with ?code=...&state=...: trade the code for a token.
export async function completeSignIn(signInConfig) {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code || signInConfig.mode !== "cognito") return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "{}");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", redirectUri() + location.hash);
  if (!pending.state || params.get("state") !== pending.state) {
    throw new Error("the sign-in came back for another request; sign in again");
  }
  const response = await fetch(signInConfig.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: signInConfig.clientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
  keep(await response.json());
  return true;
}
