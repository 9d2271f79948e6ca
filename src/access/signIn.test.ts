import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTempStore, type TempStore } from '../../test/testStore.ts';
import {
  addAccount,
  disableAccount,
  getAccount,
  listAccounts,
  redeemEnrolmentCode,
  resetMfa,
} from './accounts.ts';
import { operatorActor } from './attribution.ts';
import { authenticatePassword, SIGN_IN_FAILED, verifySecondFactor } from './login.ts';
import { confirmTotpEnrolment, startTotpEnrolment } from './mfaEnrolment.ts';
import { ACCOUNT_POLICY, delayAfter } from './throttle.ts';
import {
  currentCode,
  enrolmentUri,
  newRecoveryCodes,
  newTotpSecret,
  useRecoveryCode,
  verifyTotp,
} from './totp.ts';

const PASSWORD = 'plum lantern orbit cactus';
// Records expire by the real clock, so the injected clock starts now (at a TOTP step boundary).
const T0 = Math.floor(Date.now() / 30_000) * 30_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe('TOTP (RFC 6238)', () => {
  it('accepts the current code and its neighbours, refuses codes further off', () => {
    const secret = newTotpSecret();
    assert.equal(verifyTotp(secret, currentCode(secret, T0), undefined, T0).ok, true);
    assert.equal(
      verifyTotp(secret, currentCode(secret, T0 - 30 * SECOND), undefined, T0).ok,
      true,
      'one step behind',
    );
    assert.equal(
      verifyTotp(secret, currentCode(secret, T0 + 30 * SECOND), undefined, T0).ok,
      true,
      'one step ahead',
    );
    assert.deepEqual(verifyTotp(secret, currentCode(secret, T0 - 90 * SECOND), undefined, T0), {
      ok: false,
      reason: 'wrong',
    });
    assert.deepEqual(verifyTotp(secret, 'abcdef', undefined, T0), { ok: false, reason: 'wrong' });
  });

  it('refuses a code that was used already, and any code from an earlier step', () => {
    const secret = newTotpSecret();
    const first = verifyTotp(secret, currentCode(secret, T0), undefined, T0);
    assert.ok(first.ok);
    assert.deepEqual(verifyTotp(secret, currentCode(secret, T0), first.step, T0 + 5 * SECOND), {
      ok: false,
      reason: 'replayed',
    });
    assert.deepEqual(verifyTotp(secret, currentCode(secret, T0 - 30 * SECOND), first.step, T0), {
      ok: false,
      reason: 'replayed',
    });
    assert.equal(
      verifyTotp(secret, currentCode(secret, T0 + 30 * SECOND), first.step, T0 + 30 * SECOND).ok,
      true,
    );
  });

  it('makes an otpauth:// enrolment URI with the standard settings', () => {
    const uri = new URL(enrolmentUri('JBSWY3DPEHPK3PXP', 'mreyes'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), 'JBSWY3DPEHPK3PXP');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('issuer'), 'ChartVault');
  });

  it('gives 10 recovery codes, kept as hashes, each good once', () => {
    const { codes, hashes } = newRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.ok(hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash) && !codes.includes(hash)));
    const left = useRecoveryCode(hashes, codes[3]!.toUpperCase());
    assert.equal(left?.length, 9);
    assert.equal(useRecoveryCode(left!, codes[3]!), undefined, 'a spent code is refused');
  });
});

describe('accounts and sign-in', () => {
  let temp: TempStore;
  before(() => {
    temp = createTempStore();
  });
  after(() => temp.cleanup());
  const address = '192.0.2.10';
  const operator = operatorActor();

  it('adds an account with a password, refuses a duplicate name, an unknown role and a weak password', async () => {
    const added = await addAccount(
      temp.store,
      { userName: 'MReyes', displayName: 'M. Reyes', role: 'physician', password: PASSWORD },
      operator,
    );
    assert.equal(added.account.userName, 'mreyes');
    assert.equal(added.enrolmentCode, undefined);
    const stored = await getAccount(temp.store, 'mreyes');
    assert.match(stored!.passwordHash!, /^\$argon2id\$/);
    assert.equal(stored!.createdBy, operator.id);
    await assert.rejects(
      addAccount(temp.store, { userName: 'mreyes', role: 'nurse', password: PASSWORD }, operator),
      /already exists/,
    );
    await assert.rejects(
      addAccount(temp.store, { userName: 'x1', role: 'doctor', password: PASSWORD }, operator),
      /not a role.*physician, nurse/,
    );
    await assert.rejects(
      addAccount(temp.store, { userName: 'x2', role: 'nurse', password: 'password' }, operator),
      /common and breached/,
    );
    await assert.rejects(
      addAccount(temp.store, { userName: 'x3', role: 'system', password: PASSWORD }, operator),
      /not a role for a person/,
    );
  });

  it('without a password, hands out a one-time enrolment code that sets the first password once', async () => {
    const { enrolmentCode, enrolmentExpires } = await addAccount(
      temp.store,
      { userName: 'desk1', role: 'front-desk' },
      operator,
    );
    assert.match(enrolmentCode!, /^[a-z2-7]{5}(-[a-z2-7]{5}){3}$/);
    assert.ok(Date.parse(enrolmentExpires!) - Date.now() > 23.9 * 60 * MINUTE);
    const stored = await getAccount(temp.store, 'desk1');
    assert.ok(!JSON.stringify(stored).includes(enrolmentCode!), 'only the hash is stored');
    assert.equal(await redeemEnrolmentCode(temp.store, 'desk1', 'wrong-code', 'orchid velvet tundra'), false);
    assert.equal(
      await redeemEnrolmentCode(temp.store, 'desk1', enrolmentCode!, 'orchid velvet tundra'),
      true,
    );
    assert.equal(
      await redeemEnrolmentCode(temp.store, 'desk1', enrolmentCode!, 'another fine phrase'),
      false,
      'used once',
    );
    assert.equal((await authenticatePassword(temp.store, 'desk1', 'orchid velvet tundra', address)).ok, true);
    const late = await addAccount(
      temp.store,
      { userName: 'desk2', role: 'front-desk' },
      operator,
      Date.now() - 25 * 60 * MINUTE,
    );
    assert.equal(
      await redeemEnrolmentCode(temp.store, 'desk2', late.enrolmentCode!, 'orchid velvet tundra'),
      false,
      'expired after 24 h',
    );
  });

  it('enrols an authenticator, then signs in with password and TOTP; a replayed code is refused', async () => {
    const first = await authenticatePassword(temp.store, 'mreyes', PASSWORD, address, { now: T0 });
    assert.deepEqual(first, { ok: true, userName: 'mreyes', role: 'physician', next: 'enrol-mfa' });
    const enrolment = await startTotpEnrolment(temp.store, 'mreyes');
    assert.match(enrolment.qrSvg, /^<svg/);
    assert.equal(await confirmTotpEnrolment(temp.store, 'mreyes', '000000', T0), undefined);
    const recovery = await confirmTotpEnrolment(temp.store, 'mreyes', currentCode(enrolment.secret, T0), T0);
    assert.equal(recovery?.length, 10);

    const t = T0 + 60 * SECOND;
    const login = await authenticatePassword(temp.store, 'MReyes', PASSWORD, address, { now: t });
    assert.equal(login.ok && login.next, 'second-factor');
    const code = currentCode(enrolment.secret, t);
    const second = await verifySecondFactor(temp.store, 'mreyes', code, address, { now: t });
    assert.equal(second.ok && second.method, 'totp');
    const replay = await verifySecondFactor(temp.store, 'mreyes', code, address, { now: t + 10 * SECOND });
    assert.equal(replay.ok, false);

    const byRecovery = await verifySecondFactor(temp.store, 'mreyes', recovery![0]!, address, {
      now: t + 20 * SECOND,
    });
    assert.deepEqual(byRecovery.ok && [byRecovery.method, byRecovery.recoveryCodesLeft], [
      'recovery-code',
      9,
    ]);
    const again = await verifySecondFactor(temp.store, 'mreyes', recovery![0]!, address, {
      now: t + 25 * SECOND,
    });
    assert.equal(again.ok, false, 'a recovery code works once');
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const now = T0 + 5 * MINUTE;
    const unknown = await authenticatePassword(temp.store, 'nobody-here', PASSWORD, '192.0.2.20', { now });
    const wrong = await authenticatePassword(temp.store, 'mreyes', 'wrong password value', '192.0.2.21', {
      now,
    });
    assert.deepEqual(unknown, { ok: false, message: SIGN_IN_FAILED, retryAfterMs: 0 });
    assert.deepEqual(wrong, unknown);
  });

  it('delays progressively, locks out after 10 failures, and releases after the lockout time', async () => {
    await addAccount(temp.store, { userName: 'nurse1', role: 'nurse', password: PASSWORD }, operator);
    const from = '198.51.100.7';
    let now = T0 + 10 * MINUTE;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      const result = await authenticatePassword(temp.store, 'nurse1', `wrong guess number ${attempt}`, from, {
        now,
      });
      assert.equal(result.ok, false);
      delays.push(result.ok ? -1 : result.retryAfterMs);
      if (attempt === 5) {
        // Before the delay is over the attempt is not even checked: the right password fails too.
        const early = await authenticatePassword(temp.store, 'nurse1', PASSWORD, from, { now: now + 500 });
        assert.equal(early.ok, false);
      }
      if (attempt < 10) now += (result.ok ? 0 : result.retryAfterMs) + 1;
    }
    assert.deepEqual(delays.slice(0, 8), [0, 0, 0, 1000, 2000, 4000, 8000, 16000]);
    assert.equal(delays[9], ACCOUNT_POLICY.lockoutMs, 'the 10th failure locks the account for 15 minutes');
    const locked = await authenticatePassword(temp.store, 'nurse1', PASSWORD, '203.0.113.9', {
      now: now + 10 * MINUTE,
    });
    assert.equal(locked.ok, false, 'locked from any address, right password or not');
    assert.equal(locked.ok ? 0 : locked.retryAfterMs > 0, true);
    const released = await authenticatePassword(temp.store, 'nurse1', PASSWORD, '203.0.113.9', {
      now: now + 16 * MINUTE,
    });
    assert.equal(released.ok, true, 'released after the lockout');
    assert.equal(delayAfter(20, ACCOUNT_POLICY), ACCOUNT_POLICY.maxDelayMs);
  });

  it('throttles unknown user names the same way (no enumeration through the lockout)', async () => {
    let now = T0 + 40 * MINUTE;
    let last = 0;
    for (let attempt = 1; attempt <= 10; attempt++) {
      const result = await authenticatePassword(temp.store, 'ghost', 'any password at all', '198.51.100.8', {
        now,
      });
      last = result.ok ? -1 : result.retryAfterMs;
      now += last + 1;
    }
    assert.equal(last, ACCOUNT_POLICY.lockoutMs);
  });

  it('disables an account: its password no longer works; reset-mfa clears the authenticator', async () => {
    await disableAccount(temp.store, 'desk1', operator);
    const now = T0 + 60 * MINUTE;
    const result = await authenticatePassword(temp.store, 'desk1', 'orchid velvet tundra', '192.0.2.30', {
      now,
    });
    assert.deepEqual(result, { ok: false, message: SIGN_IN_FAILED, retryAfterMs: 0 });
    await resetMfa(temp.store, 'mreyes', operator);
    const after = await authenticatePassword(temp.store, 'mreyes', PASSWORD, '192.0.2.31', { now });
    assert.equal(after.ok && after.next, 'enrol-mfa');
    const list = await listAccounts(temp.store);
    assert.deepEqual(
      list.map((a) => [a.userName, a.role, a.disabled]),
      [
        ['desk1', 'front-desk', true],
        ['desk2', 'front-desk', false],
        ['mreyes', 'physician', false],
        ['nurse1', 'nurse', false],
      ],
    );
    assert.ok(!JSON.stringify(list).includes('argon2'), 'the list shows no hashes');
  });

  it('writes sign-in failures and account changes to the audit chain, with no password in it', async () => {
    const entries = (await temp.store.auditEntriesAfter(0, 100_000)).map((record) =>
      JSON.parse(record.entry),
    );
    const added = entries.find((e) => e.action === 'account-add' && e.detail?.target === 'mreyes');
    assert.deepEqual(added?.agent, { type: 'os-user', id: operator.id });
    const failure = entries.find(
      (e) => e.action === 'login-password' && e.outcome === 'failure' && e.detail?.user === 'nobody-here',
    );
    assert.deepEqual(failure?.agent, { type: 'unauthenticated', address: '192.0.2.20' });
    const success = entries.find((e) => e.action === 'login-second-factor' && e.outcome === 'success');
    assert.equal(success?.agent.id, 'mreyes');
    assert.ok(entries.some((e) => e.action === 'account-disable' && e.detail?.target === 'desk1'));
    assert.ok(!JSON.stringify(entries).includes(PASSWORD));
  });
});
