/**
 * Streams a file of the local server into one Uint8Array. With a Content-Length the buffer is
 * allocated once and filled chunk by chunk (no second copy of a large weight file, and no
 * base64 or JSON detour through the host↔page channel).
 */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (!res.body || !Number.isFinite(length)) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(length);
  const reader = res.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > length) throw new Error(`fetch ${url}: more bytes than its Content-Length of ${length}`);
    out.set(value, at);
    at += value.length;
  }
  if (at !== length) throw new Error(`fetch ${url}: got ${at} of ${length} bytes (connection cut?)`);
  return out;
}

export async function fetchText(url: string): Promise<string> {
  return new TextDecoder('utf-8').decode(await fetchBytes(url));
}
