import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blocklistSize, isCommonPassword } from './passwordBlocklist.ts';
import { ARGON2_PARAMETERS, hashPassword, verifyAgainstDummy, verifyPassword } from './passwordHash.ts';
import { checkPassword, MAX_LENGTH } from './passwordPolicy.ts';

describe('password policy (NIST SP 800-63B rev. 4)', () => {
  it('needs 15 characters when the password is the only factor, 8 with MFA', () => {
    const fourteen = 'tulip harbour9'; // 14 characters
    const single = checkPassword(fourteen, { mfa: false });
    assert.equal(single.ok, false);
    assert.match(
      !single.ok ? single.problems[0]! : '',
      /14 characters; it needs at least 15 when it is the only factor/,
    );
    assert.equal(checkPassword(fourteen + 'x', { mfa: false }).ok, true);
    const seven = checkPassword('tulip9x', { mfa: true });
    assert.match(!seven.ok ? seven.problems[0]! : '', /7 characters; it needs at least 8/);
    assert.equal(checkPassword('tulip9xq', { mfa: true }).ok, true);
  });

  it('accepts 64-character and longer passphrases, and refuses beyond the maximum', () => {
    const sixtyFour = 'correct horse battery staple, walking to the harbour at dawn 42!';
    assert.equal([...sixtyFour].length, 64);
    assert.equal(checkPassword(sixtyFour, { mfa: false }).ok, true);
    assert.equal(checkPassword('w'.repeat(3) + 'ord-'.repeat(60), { mfa: false }).ok, true);
    const tooLong = checkPassword('ab1-'.repeat(70), { mfa: false });
    assert.match(!tooLong.ok ? tooLong.problems.join() : '', new RegExp(`at most ${MAX_LENGTH}`));
  });

  it('accepts Unicode, normalised (NFKC) so composed and decomposed forms are the same password', async () => {
    const composed = 'Grüße aus Köln, 東京 🌸 naïve';
    const decomposed = composed.normalize('NFD');
    assert.notEqual(composed, decomposed);
    const check = checkPassword(decomposed, { mfa: false });
    assert.equal(check.ok, true);
    const hash = await hashPassword(composed);
    assert.equal(await verifyPassword(hash, decomposed), true);
    // Length counts characters, not UTF-16 units: 8 emoji are 8 characters.
    assert.equal(checkPassword('🌸🌼🌻🌹🌷🌺🍀🌿', { mfa: true }).ok, true);
  });

  it('refuses common and breached passwords from a list of more than 10,000', () => {
    assert.ok(blocklistSize() >= 10_000, `blocklist has ${blocklistSize()} entries`);
    const common = checkPassword('password1234', { mfa: true });
    assert.equal(common.ok, false);
    assert.match(!common.ok ? common.problems[0]! : '', /common and breached passwords/);
    assert.equal(
      checkPassword('qazwsxedcrfvtgb', { mfa: false }).ok,
      false,
      'a 15-character keyboard walk on the list',
    );
    assert.equal(checkPassword('PassWord1234', { mfa: true }).ok, false, 'compared regardless of case');
    assert.equal(isCommonPassword('passwordpasswordpassword'), true, 'a listed word repeated');
    assert.equal(isCommonPassword('zzzzzzzzzzzzzzzz'), true, 'one character repeated');
  });

  it('refuses a password holding the user name, and asks for no composition rules', () => {
    const withName = checkPassword('hello-mreyes-2024!', {
      mfa: true,
      contextWords: ['mreyes', 'Maria', 'Reyes'],
    });
    assert.match(!withName.ok ? withName.problems.join() : '', /user name or name/);
    // Lower case letters and spaces only: no digit or symbol demanded.
    assert.equal(
      checkPassword('plum lantern orbit cactus', { mfa: false, contextWords: ['mreyes'] }).ok,
      true,
    );
  });
});

describe('Argon2id password hashes', () => {
  it('hashes with Argon2id at the OWASP parameters and verifies only the right password', async () => {
    const hash = await hashPassword('plum lantern orbit cactus');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(ARGON2_PARAMETERS.memoryCost, 19456);
    assert.equal(await verifyPassword(hash, 'plum lantern orbit cactus'), true);
    assert.equal(await verifyPassword(hash, 'plum lantern orbit cactuS'), false);
    assert.equal(await verifyPassword('not a hash', 'x'), false);
  });

  it('spends about as long on an unknown user as on a real check', async () => {
    const hash = await hashPassword('plum lantern orbit cactus');
    await verifyAgainstDummy('warm-up');
    const time = async (work: () => Promise<unknown>) => {
      const start = performance.now();
      await work();
      return performance.now() - start;
    };
    // Alternating and taking medians, so that load from other work on the machine falls on both alike.
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 7; i++) {
      real.push(await time(() => verifyPassword(hash, 'wrong guess here')));
      dummy.push(await time(() => verifyAgainstDummy('wrong guess here')));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    const [r, d] = [median(real), median(dummy)];
    assert.ok(d > r * 0.5 && d < r * 2, `real ${r.toFixed(0)} ms, dummy ${d.toFixed(0)} ms (medians)`);
  });
});
