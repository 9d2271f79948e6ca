/**
 * The contract every backup target passes (directory now; receiver and S3 next): objects are written
 * once, read back as written, listed without temporary files, and never overwritten. A target's test
 * file calls `targetContract` with a way to make a fresh, empty target.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupTarget } from './target.ts';

export function targetContract(
  kind: string,
  make: () => Promise<{ target: BackupTarget; cleanup(): Promise<void> }>,
) {
  const withTarget = (name: string, body: (target: BackupTarget) => Promise<void>) =>
    test(`${kind} target: ${name}`, async () => {
      const { target, cleanup } = await make();
      try {
        await body(target);
      } finally {
        await cleanup();
      }
    });

  withTarget(
    'put-if-absent writes once; the same bytes again are fine; other bytes are refused',
    async (target) => {
      assert.equal(await target.putIfAbsent('packs/ab/abc', Buffer.from('one')), 'written');
      assert.equal(await target.putIfAbsent('packs/ab/abc', Buffer.from('one')), 'exists');
      await assert.rejects(
        target.putIfAbsent('packs/ab/abc', Buffer.from('two')),
        /already exists with other content/,
      );
      assert.deepEqual(await target.get('packs/ab/abc'), Buffer.from('one'));
    },
  );

  withTarget('get, size and list see exactly the objects written', async (target) => {
    assert.equal(await target.get('snapshots/none'), undefined);
    assert.equal(await target.size('snapshots/none'), undefined);
    assert.deepEqual(await target.list('snapshots/'), []);
    const big = Buffer.alloc(300_000, 7);
    await target.putIfAbsent('snapshots/s1', Buffer.from('manifest'));
    await target.putIfAbsent('packs/01/p1', big);
    await target.putIfAbsent('packs/02/p2', Buffer.alloc(0));
    assert.deepEqual((await target.list('packs/')).sort(), ['packs/01/p1', 'packs/02/p2']);
    assert.deepEqual(await target.list('snapshots/'), ['snapshots/s1']);
    assert.equal(await target.size('packs/01/p1'), big.length);
    assert.deepEqual(await target.get('packs/01/p1'), big);
    assert.equal(await target.size('packs/02/p2'), 0);
  });

  withTarget('concurrent writers of one name: one writes, none overwrites', async (target) => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        target.putIfAbsent('packs/cc/race', Buffer.from(i < 4 ? 'same' : `other ${i}`)),
      ),
    );
    const stored = (await target.get('packs/cc/race'))!.toString();
    for (const [i, r] of results.entries()) {
      const mine = i < 4 ? 'same' : `other ${i}`;
      if (r.status === 'fulfilled') assert.equal(stored, mine, 'a fulfilled put saw its own bytes stored');
      else assert.match(String(r.reason), /already exists with other content/);
    }
    assert.deepEqual(await target.list('packs/'), ['packs/cc/race']);
  });
}
