// Two synths give byte-identical cloud assemblies, and templates carry no path of this checkout.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO_ROOT } from '../lib/config';
import { synth } from './helpers';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('deterministic synth', () => {
  const dirs = [1, 2].map((n) => mkdtempSync(join(tmpdir(), `provisio-synth-${n}-`)));
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  for (const dir of dirs) synth({}, dir).app.synth();

  test('two synths write the same files with the same bytes', () => {
    const [first, second] = dirs;
    assert.deepEqual(files(first), files(second));
    assert.ok(files(first).includes('Provisio.template.json'));
    for (const file of files(first)) {
      assert.ok(readFileSync(join(first, file)).equals(readFileSync(join(second, file))), `${file} differs`);
    }
  });

  test('the template does not depend on where the repository is checked out', () => {
    const template = readFileSync(join(dirs[0], 'Provisio.template.json'), 'utf8');
    assert.ok(!template.includes(REPO_ROOT), 'template contains the checkout path');
  });
});
