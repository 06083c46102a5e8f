import { Command } from 'commander';
import { registerAuthSessionCommand } from './auth-session.ts';
import type { BootstrapOptions } from './auth-run.ts';

export function registerAuthCommand(program: Command): void {
  const auth = program.command('auth').description('the OAuth2 token and the web session the workers use');
  registerBootstrap(auth);
  registerJwks(auth);
  registerAuthSessionCommand(auth);
  registerStatus(auth);
}

/** `auth bootstrap`: the first token. */
function registerBootstrap(auth: Command): void {
  auth
    .command('bootstrap')
    .description(
      'get the first token: sign in as the service user (authorization code + PKCE), or import a refresh token',
    )
    .option(
      '--refresh-token <token>',
      'import this refresh token instead of signing in (exchanged once, then rotated); "-" reads it from stdin, out of shell history',
    )
    .option(
      '--redirect-uri <uri>',
      'the redirect URI registered with the app (default OAUTH_REDIRECT_URI, else http://127.0.0.1:8765/callback); an https:// one implies --paste',
    )
    .option('--paste', 'print the sign-in URL and read back the URL the browser was redirected to')
    .option(
      '--via-session',
      "sign in with the service user's web login (LMS_USERNAME, LMS_PASSWORD): no person; the LMS's consent page, if shown, is allowed once as that user",
    )
    .option(
      '--port <port>',
      "local callback port for a loopback redirect URI (default: the URI's, else 8765)",
    )
    .option('--timeout <seconds>', 'how long to wait for the sign-in', '300')
    .addHelpText(
      'after',
      `
Where the app's registration accepts only https:// redirect URIs, register
one (nothing has to listen there), then use --redirect-uri with --paste.

Examples:
  # headless server, registered https redirect URI: open the printed URL in
  # any browser, sign in as the service user, paste back where it lands:
  certharvest auth bootstrap --paste \\
    --redirect-uri https://certharvest.school.edu/oauth/callback
  # a loopback redirect URI (sandbox; or via ssh -L 8765:127.0.0.1:8765):
  certharvest auth bootstrap
  # unattended: the service user's web login signs in (and allows the app once):
  certharvest auth bootstrap --via-session
  # import a refresh token from stdin (out of shell history):
  printf %s "$TOKEN" | certharvest auth bootstrap --refresh-token -

A token the LMS refuses exits 2 and says it was the token given.`,
    )
    .action(async (opts: BootstrapOptions) => {
      const { runBootstrap } = await import('./auth-run.ts');
      await runBootstrap(opts);
    });
}

/** `auth jwks`: the public half of the private-key JWT's key. */
function registerJwks(auth: Command): void {
  auth
    .command('jwks')
    .description("print the public JWKS of OAUTH_PRIVATE_KEY_FILE, for the app's registration")
    .addHelpText(
      'after',
      `
For AUTH_MODE=client-credentials with a private-key JWT. The key's
public half, with kid OAUTH_KEY_ID, use "sig" and its alg (RS256, ES256,
ES384 or EdDSA). Never prints the private key.

Examples:
  # paste into the LMS's app registration form:
  certharvest auth jwks
  # or serve it at the JWKS URL you register:
  certharvest auth jwks > /var/www/jwks.json`,
    )
    .action(async () => {
      const { runJwks } = await import('./auth-run.ts');
      await runJwks();
    });
}

/** `auth status`: the token's mode, state, expiry and keep-alive. */
function registerStatus(auth: Command): void {
  auth
    .command('status')
    .description('show the token mode, state, expiry and keep-alive (never a secret)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Shows the mode, whether the token works, when it was last renewed, the
keep-alive (TOKEN_KEEPALIVE: last rotation, next one, its health) and a fleet
pause about credentials with its fix.

Examples:
  certharvest auth status
  certharvest auth status --json | jq .keepAlive`,
    )
    .action(async (opts: { json?: boolean }) => {
      const { runStatus } = await import('./auth-run.ts');
      await runStatus(opts);
    });
}
