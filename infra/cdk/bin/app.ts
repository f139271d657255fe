#!/usr/bin/env node
// Entry point of `npx cdk synth|deploy` (cdk.json runs it with tsx).
import { SKIP_BUNDLING_CONTEXT, buildApp } from '../lib/app';

// PROVISIO_SKIP_BUNDLING=1: synth without `cargo lambda build` (CI, cfn-lint). The CLI refuses
// `-c aws:...` and sets these keys itself, so they are applied after its context (postCliContext).
const skipBundling = process.env.PROVISIO_SKIP_BUNDLING === '1';
const { app } = buildApp(skipBundling ? { postCliContext: SKIP_BUNDLING_CONTEXT } : {});
app.synth();
