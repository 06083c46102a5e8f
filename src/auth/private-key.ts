import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
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
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError([`${what}: expected a PEM private key`]);
  }
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const algorithm = webCryptoAlgorithm(key, what);
  return webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
}

function webCryptoAlgorithm(
  key: KeyObject,
  what: string,
): RsaHashedImportParams | EcKeyImportParams | Algorithm {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return { name: 'ECDSA', namedCurve: 'P-256' };
      if (curve === 'secp384r1') return { name: 'ECDSA', namedCurve: 'P-384' };
      throw new ConfigError([`${what}: EC curve ${curve ?? '?'} is not supported (use P-256 or P-384)`]);
    }
    case 'ed25519':
      return { name: 'Ed25519' };
    default:
      throw new ConfigError([
        `${what}: key type ${key.asymmetricKeyType ?? '?'} is not supported (use RSA, EC P-256/P-384 or Ed25519)`,
      ]);
  }
}
