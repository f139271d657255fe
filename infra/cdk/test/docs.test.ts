// The documentation states facts the code decides: the resource counts of docs/deploy.md, the README picture,
// the functions table, the data model, the route index, and the links between the pages. Each test fails when
// the code moves on and the text does not.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { NAMES, REPO_ROOT, STATE_MACHINE_KEYS, TABLES, TABLE_KEYS, entries } from '../lib/config';
import { FUNCTION_NAMES, SCHEDULES } from '../lib/functions';
import { RUST_RUNTIME } from '../lib/provisio-stack';
import { type Json, resourcesOfType, synth } from './helpers';

const { template } = synth();

const read = (...path: string[]) => readFileSync(join(REPO_ROOT, ...path), 'utf8');

/** The crates under functions/: each is one deployed Lambda. */
const FUNCTION_CRATES = readdirSync(join(REPO_ROOT, 'functions'))
  .filter((name) => existsSync(join(REPO_ROOT, 'functions', name, 'Cargo.toml')))
  .sort();

/** Provisio's own functions: the Rust binaries. CDK helper functions (custom resources) run on Node.js. */
function projectFunctions(): [string, Json][] {
  return resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => fn.Properties.Runtime === RUST_RUNTIME);
}

describe('docs/deploy.md resource counts', () => {
  const deploy = read('docs', 'deploy.md');
  const sentence =
    /The stack creates \*\*(\d+)\*\* DynamoDB tables, \*\*(\d+)\*\* Lambda functions, \*\*(\d+)\*\* state machines, \*\*(\d+)\*\* SQS queues and \*\*(\d+)\*\* CloudWatch alarms\./;
  const match = sentence.exec(deploy);

  test('docs/deploy.md states the counts in its machine-checkable sentence', () => {
    assert.ok(match, `docs/deploy.md must contain a sentence matching ${sentence}`);
  });

  const stated = (index: number) => Number(match?.[index]);
  const counts: [string, number, () => number][] = [
    ['DynamoDB tables', 1, () => resourcesOfType(template, 'AWS::DynamoDB::Table').length],
    ['Lambda functions', 2, () => projectFunctions().length],
    ['state machines', 3, () => resourcesOfType(template, 'AWS::StepFunctions::StateMachine').length],
    ['SQS queues', 4, () => resourcesOfType(template, 'AWS::SQS::Queue').length],
    ['CloudWatch alarms', 5, () => resourcesOfType(template, 'AWS::CloudWatch::Alarm').length],
  ];
  for (const [what, index, synthesized] of counts) {
    test(`the stated number of ${what} is the synthesized one`, () => {
      assert.equal(stated(index), synthesized(), `docs/deploy.md says ${stated(index)} ${what}`);
    });
  }

  test('the Lambda functions are exactly the crates under functions/, and every Lambda is one of them', () => {
    const deployed = projectFunctions().map(([, fn]) => fn.Properties.FunctionName).sort();
    assert.deepEqual(deployed, FUNCTION_CRATES.map((name) => `provisio-${name}`).sort());
    assert.deepEqual([...FUNCTION_NAMES].sort(), FUNCTION_CRATES);
    // A Lambda that is not a Rust binary would be a CDK helper the count above leaves out: make it visible.
    assert.equal(resourcesOfType(template, 'AWS::Lambda::Function').length, deployed.length);
  });
});

describe('README architecture picture', () => {
  const readme = read('README.md');
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

  test('the README has a Mermaid picture and stays under 15 KB', () => {
    assert.ok(diagram.includes('flowchart'), 'README.md needs a ```mermaid flowchart block');
    assert.ok(Buffer.byteLength(readme) <= 15_000, `README.md is ${Buffer.byteLength(readme)} bytes`);
  });

  const named: [string, string[]][] = [
    ['function', FUNCTION_CRATES],
    ['state machine', STATE_MACHINE_KEYS.map((key) => NAMES.stateMachines[key])],
    ['table', TABLE_KEYS.map((key) => NAMES.tables[key])],
    ['schedule rule', Object.keys(SCHEDULES).map((key) => `provisio-${key}`)],
    ['queue', ['provisio-hr-events.fifo', 'provisio-hr-events-dlq.fifo']],
  ];
  for (const [kind, names] of named) {
    test(`the picture shows every ${kind}`, () => {
      // Whole names only: "approval" must not be found inside "approval-callback".
      const missing = names.filter((name) => !new RegExp(`(^|[^\\w-])${escape(name)}($|[^\\w-])`).test(diagram));
      assert.deepEqual(missing, [], `missing from the README picture: ${missing.join(', ')}`);
    });
  }
});

describe('reference pages', () => {
  test('docs/architecture.md has a row for every function', () => {
    const page = read('docs', 'architecture.md');
    const missing = FUNCTION_CRATES.filter((name) => !page.includes(`| \`${name}\` |`));
    assert.deepEqual(missing, []);
  });

  test('docs/data-model.md names every table and every index of tables.json', () => {
    const page = read('docs', 'data-model.md');
    const missing = TABLE_KEYS.flatMap((key) => [
      NAMES.tables[key],
      ...entries(TABLES[key].indexes ?? {}).map(([index]) => index),
    ]).filter((name) => !page.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });

  test('docs/http-api.md lists every route of names.json (SCIM as /scim/v2/…)', () => {
    const page = read('docs', 'http-api.md');
    const routes = entries(NAMES.routes)
      .filter(([key]) => key !== 'public')
      .flatMap(([, keys]) => keys)
      .filter((route) => !route.includes(' /scim/v2/'));
    const missing = routes.filter((route) => !page.includes(`| \`${route}`));
    assert.deepEqual(missing, []);
    assert.ok(page.includes('`/scim/v2/…`'));
  });
});

describe('links between the pages', () => {
  const pages = ['README.md', 'CHANGELOG.md', 'CONTRIBUTING.md', ...markdownUnder('docs')];

  for (const page of pages) {
    test(`${page}: every relative link points at a file, and every #anchor at a heading`, () => {
      const broken: string[] = [];
      for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#');
        const file = path ? resolve(REPO_ROOT, dirname(page), path) : join(REPO_ROOT, page);
        if (!existsSync(file)) {
          broken.push(`${target} (no such file)`);
        } else if (anchor && (!file.endsWith('.md') || !anchors(file).has(anchor))) {
          broken.push(`${target} (no such heading)`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }
});

/** Markdown files under a repository folder, as repository-relative paths. */
function markdownUnder(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, folder))
    .map((name) => join(folder, name))
    .filter((path) => path.endsWith('.md') && statSync(join(REPO_ROOT, path)).isFile())
    .sort();
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to dashes, -1 for repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count ? `${slug}-${count}` : slug);
  }
  return out;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
