// Builds the app the same way for `cdk synth/deploy` (bin/app.ts) and for the tests.
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag';
import { ProvisioStack } from './provisio-stack';
import { readSettings } from './settings';

/**
 * Context for a synth without `cargo lambda build`: no stack gets its assets bundled, and no
 * aws:asset:path metadata (unbundled, it would be the absolute path of the checkout).
 */
export const SKIP_BUNDLING_CONTEXT = {
  'aws:cdk:bundling-stacks': [],
  'aws:cdk:enable-asset-metadata': false,
};

export function buildApp(props: AppProps = {}): { app: App; stack: ProvisioStack } {
  const app = new App(props);
  const settings = readSettings(app.node);
  const stack = new ProvisioStack(app, 'Provisio', {
    stackName: `${settings.namePrefix}Provisio`,
    description: 'Provisio: self-service IT asset provisioning (serverless, Rust)',
    settings,
  });
  acknowledgeNagFindings(stack);
  // cdk-nag 3 runs as a policy validation plugin at synth; an unacknowledged finding fails synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
