import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';

/**
 * Load a PEM private key (PKCS#8 or PKCS#1/SEC1) for private-key-JWT client authentication as a
 * WebCrypto signing key, which is what oauth4webapi signs with. RSA keys sign RS256, EC keys ES256
 * or ES384 by curve, Ed25519 keys EdDSA.
 */
export async function loadPrivateKey(file: string): Promise<CryptoKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError([`OAUTH_PRIVATE_KEY_FILE: cannot read ${file} (${(cause as Error).message})`]);
  }
  return importPrivateKeyPem(pem, `OAUTH_PRIVATE_KEY_FILE (${file})`);
}

export async function importPrivateKeyPem(pem: string, what = 'private key'): Promise<CryptoKey> {
  const key = parsePrivateKey(pem, what);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, keyAlgorithm(key, what).webCrypto, false, ['sign']);
}

/**
 * The public half of OAUTH_PRIVATE_KEY_FILE as a JWKS (`{ keys: [jwk] }`) with `kid`, `use: sig`
 * and `alg`: what D2L's app registration asks for (paste it, or serve it at the JWKS URL).
 */
export async function publicJwks(file: string, keyId: string): Promise<{ keys: JWK[] }> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError([`OAUTH_PRIVATE_KEY_FILE: cannot read ${file} (${(cause as Error).message})`]);
  }
  const what = `OAUTH_PRIVATE_KEY_FILE (${file})`;
  const key = parsePrivateKey(pem, what);
  const jwk = await exportJWK(createPublicKey(key));
  return { keys: [{ ...jwk, kid: keyId, use: 'sig', alg: keyAlgorithm(key, what).jws }] };
}

function parsePrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError([`${what}: expected a PEM private key`]);
  }
}

/** How a key signs: its WebCrypto import parameters and its JWS `alg`. */
function keyAlgorithm(
  key: KeyObject,
  what: string,
): { webCrypto: RsaHashedImportParams | EcKeyImportParams | Algorithm; jws: string } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { webCrypto: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, jws: 'RS256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return { webCrypto: { name: 'ECDSA', namedCurve: 'P-256' }, jws: 'ES256' };
      if (curve === 'secp384r1') return { webCrypto: { name: 'ECDSA', namedCurve: 'P-384' }, jws: 'ES384' };
      throw new ConfigError([`${what}: EC curve ${curve ?? '?'} is not supported (use P-256 or P-384)`]);
    }
    case 'ed25519':
      return { webCrypto: { name: 'Ed25519' }, jws: 'EdDSA' };
    default:
      throw new ConfigError([
        `${what}: key type ${key.asymmetricKeyType ?? '?'} is not supported (use RSA, EC P-256/P-384 or Ed25519)`,
      ]);
  }
}
