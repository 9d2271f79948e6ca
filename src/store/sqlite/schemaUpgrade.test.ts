/** A store of an older schema opens with its search index rebuilt in the current layout. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTempStore } from '../../../test/testStore.ts';
import { fhirFetch, startServer } from '../../../test/testServer.ts';
import { databasePath, readSettings } from '../dataDirectory.ts';
import { openStore } from '../index.ts';
import { loadDataKey } from '../keyStore.ts';
import { openConnection } from './connection.ts';

test('a schema 1 database is upgraded: index tables rebuilt, resources and history kept', async () => {
  const temp = createTempStore();
  await temp.store.create({ resourceType: 'Patient', name: [{ family: 'Oldschema' }] });
  await temp.store.create({
    resourceType: 'RiskAssessment',
    status: 'final',
    subject: { reference: 'Patient/x' },
    prediction: [{ probabilityDecimal: 0.7 }],
  });
  await temp.store.close();

  // Make it look like schema 1: its number table had one `value` column and no groups.
  const { key } = loadDataKey(temp.keyDir, readSettings(temp.dataDir).storeId);
  const db = openConnection(databasePath(temp.dataDir), key, { create: false });
  db.exec(`DROP TABLE idx_number;
    CREATE TABLE idx_number (rid INTEGER NOT NULL, pid INTEGER NOT NULL, value REAL NOT NULL,
      PRIMARY KEY (rid, pid, value)) WITHOUT ROWID;
    DELETE FROM idx_string;
    PRAGMA user_version = 1;`);
  db.close();

  const { store } = openStore(temp.dataDir, temp.keyDir);
  const server = await startServer(store);
  try {
    const byName = await fhirFetch(`${server.base}/Patient?family=oldschema`);
    assert.equal(byName.body.total, 1, 'the string index was rebuilt');
    const byNumber = await fhirFetch(`${server.base}/RiskAssessment?probability=gt0.5`);
    assert.equal(byNumber.body.total, 1, 'the number table has the new layout');
    const history = await fhirFetch(`${server.base}/Patient/_history`);
    assert.equal(history.body.total, 1);
  } finally {
    await server.close();
    await store.close();
    await temp.cleanup();
  }
});
