import { describe, expect, it } from 'vitest';

import { formatFrame, formatFrames, formatReconnectFrame } from './frame.js';

const event = {
  runId: 'r',
  seq: 3,
  type: 'text.delta',
  at: '2026-01-01T00:00:00.000Z',
  data: { text: 'a\nb' },
};

describe('formatFrame', () => {
  it('writes id, event and one data line with the canonical JSON', () => {
    expect(formatFrame(event)).toBe(`id: 3\nevent: text.delta\ndata: ${JSON.stringify(event)}\n\n`);
    expect(
      formatFrame(event)
        .split('\n')
        .filter((l) => l.startsWith('data: ')),
    ).toHaveLength(1);
  });

  it('strips line breaks from the type so no field can be forged', () => {
    expect(formatFrame({ ...event, type: 'x\nid: 99' })).toMatch(/^id: 3\nevent: xid: 99\n/);
  });

  it('concatenates a batch', () => {
    expect(formatFrames([event, { ...event, seq: 4 }])).toBe(
      formatFrame(event) + formatFrame({ ...event, seq: 4 }),
    );
  });
});

describe('formatReconnectFrame', () => {
  it('B2: is a control frame with the seq to resume after and no id line', () => {
    expect(formatReconnectFrame(41)).toBe('event: reconnect\ndata: {"lastSeq":41}\n\n');
    expect(formatReconnectFrame(41)).not.toMatch(/^id:/m);
  });
});
