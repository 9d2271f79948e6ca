/** The server certificate is made in src/x509 (the backup receiver makes one too); tests import it here. */
export { makeSelfSignedCertificate } from '../x509/serverCertificate.ts';
