import { describe, expect, it } from 'vitest';
import { firstFrames, fixAuthority, huffmanDecode, huffmanEncode } from './authority.js';

const frame = (type: number, flags: number, payload: Buffer): Buffer => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(1, 5);
  return Buffer.concat([h, payload]);
};

describe('the HPACK Huffman code of authority characters', () => {
  it("round-trips, and matches RFC 7541's example (www.example.com)", () => {
    // RFC 7541 C.4.1: "www.example.com" is f1e3 c2e5 f23a 6ba0 ab90 f4ff
    expect(Buffer.from(huffmanEncode('www.example.com')!).toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
    expect(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex'))).toBe('www.example.com');
    expect(huffmanDecode(huffmanEncode('http://127.0.0.1:2379')!)).toBe('http://127.0.0.1:2379');
  });
});

describe('fixAuthority', () => {
  it("replaces a scheme's slashes in a Huffman :authority, keeping every length", () => {
    const value = huffmanEncode('http://127.0.0.1:2379')!;
    // :method POST (indexed 3), then :authority as a literal with incremental indexing (0x41)
    const block = Buffer.concat([Buffer.from([0x83, 0x41, 0x80 | value.length]), value, Buffer.from([0x86])]);
    const before = block.length;
    expect(fixAuthority(block)).toBe(true);
    expect(block.length).toBe(before);
    expect(huffmanDecode(block.subarray(3, 3 + value.length))).toBe('http:__127.0.0.1:2379');
  });

  it('leaves a valid authority alone, and fixes a plain-text one', () => {
    const ok = Buffer.concat([Buffer.from([0x41, 14]), Buffer.from('127.0.0.1:2379')]);
    expect(fixAuthority(ok)).toBe(false);
    expect(ok.subarray(2).toString()).toBe('127.0.0.1:2379');
    const plain = Buffer.concat([Buffer.from([0x41, 21]), Buffer.from('http://127.0.0.1:2379')]);
    expect(fixAuthority(plain)).toBe(true);
    expect(plain.subarray(2).toString()).toBe('http:__127.0.0.1:2379');
  });
});

describe('firstFrames', () => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const settings = frame(4, 0, Buffer.alloc(0));
  const ack = frame(4, 1, Buffer.alloc(0));
  const headers = frame(1, 4, Buffer.concat([Buffer.from([0x41, 21]), Buffer.from('http://127.0.0.1:2379')]));

  it('waits for the ACK of the early SETTINGS and the first headers, drops the ACK, fixes the authority', () => {
    expect(firstFrames(Buffer.concat([preface, settings, headers]), preface.length).state).toBe('more');
    const r = firstFrames(Buffer.concat([preface, settings, headers, ack]), preface.length);
    expect(r.state).toBe('done');
    expect(r.bytes.equals(Buffer.concat([preface, settings, frame(1, 4, Buffer.concat([Buffer.from([0x41, 21]), Buffer.from('http:__127.0.0.1:2379')]))]))).toBe(true);
  });

  it('waits for incomplete frames', () => {
    const all = Buffer.concat([preface, settings, ack, headers]);
    expect(firstFrames(all.subarray(0, all.length - 3), preface.length).state).toBe('more');
    expect(firstFrames(all, preface.length).state).toBe('done');
  });

  it('hands a connection over at a PING before its first request, once the ACK is taken out', () => {
    const ping = frame(6, 0, Buffer.alloc(8));
    expect(firstFrames(Buffer.concat([preface, settings, ping]), preface.length).state).toBe('more');
    const r = firstFrames(Buffer.concat([preface, settings, ping, ack]), preface.length);
    expect(r.state).toBe('done');
    expect(r.bytes.equals(Buffer.concat([preface, settings, ping]))).toBe(true);
  });
});
