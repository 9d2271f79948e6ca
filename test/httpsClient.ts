/** An HTTPS client that trusts exactly one certificate (the store's, pinned as CA), as a careful operator's does. */
import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface PinnedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  peerFingerprint: string;
  protocol: string;
}

export function pinnedGet(
  url: string,
  ca: string | undefined,
  tls: Pick<RequestOptions, 'servername' | 'minVersion' | 'maxVersion' | 'ciphers'> = {},
): Promise<PinnedResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, ...tls }, (response) => {
      const socket = response.socket as import('node:tls').TLSSocket;
      const peerFingerprint = socket.getPeerCertificate().fingerprint256;
      const protocol = socket.getProtocol() ?? '';
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body, peerFingerprint, protocol }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
