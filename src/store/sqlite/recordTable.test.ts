import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../index.ts';
import { createTempStore, type TempStore } from '../../../test/testStore.ts';

describe('security records', () => {
  let temp: TempStore;
  before(() => {
    temp = createTempStore();
  });
  after(() => temp.cleanup());

  it('puts, gets, lists and deletes records by kind and id', async () => {
    const { records } = temp.store;
    await records.put('account', 'b', { role: 'nurse' });
    await records.put('account', 'a', { role: 'physician' });
    await records.put('client', 'a', { name: 'other kind' });
    assert.deepEqual(await records.get('account', 'a'), { role: 'physician' });
    assert.deepEqual(
      (await records.list('account')).map((entry) => [entry.id, entry.value]),
      [
        ['a', { role: 'physician' }],
        ['b', { role: 'nurse' }],
      ],
    );
    assert.equal(await records.delete('account', 'b'), true);
    assert.equal(await records.delete('account', 'b'), false);
    assert.equal(await records.get('account', 'b'), undefined);
  });

  it('insertNew adds once, and again only after the earlier record expired', async () => {
    const { records } = temp.store;
    assert.equal(await records.insertNew('jti', 'x', {}, { expiresAt: Date.now() + 60_000 }), true);
    assert.equal(await records.insertNew('jti', 'x', {}, { expiresAt: Date.now() + 60_000 }), false);
    await records.put('jti', 'old', {}, { expiresAt: Date.now() - 1 });
    assert.equal(await records.get('jti', 'old'), undefined, 'an expired record reads as absent');
    assert.equal(await records.insertNew('jti', 'old', {}, { expiresAt: Date.now() + 60_000 }), true);
    assert.equal(await records.purgeExpired(), 0);
  });

  it('commits with a transaction, and a failed transaction leaves nothing', async () => {
    await assert.rejects(
      temp.store.transaction(async (tx) => {
        await tx.records.put('account', 'ghost', {});
        assert.deepEqual(await tx.records.get('account', 'ghost'), {}, 'seen inside the transaction');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await temp.store.records.get('account', 'ghost'), undefined);
  });

  it('are kept in the encrypted database across reopening', async () => {
    await temp.store.close();
    const reopened = openStore(temp.dataDir, temp.keyDir).store;
    try {
      assert.deepEqual(await reopened.records.get('account', 'a'), { role: 'physician' });
    } finally {
      await reopened.close();
    }
  });
});
