#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../functions/engine/config/validate.ts';
import { ConfigFileError } from '../functions/stores/local-config.ts';
import { NightshiftStack } from '../lib/nightshift-stack.ts';

const app = new App();
try {
  new NightshiftStack(app, app.node.tryGetContext('stackName') ?? 'Nightshift', {
    configPath: app.node.tryGetContext('configPath') ?? 'config/schedule.json',
    alarmEmail: app.node.tryGetContext('alarmEmail'),
    accountSecrets: app.node.tryGetContext('accountSecrets') === 'import' ? 'import' : 'create',
    description: 'Nightshift: Huawei Cloud tasks on a schedule',
  });
} catch (error) {
  // A config problem is the user's to fix: its message says what and where; a stack trace of
  // the synth internals would only bury it.
  if (error instanceof ConfigError || error instanceof ConfigFileError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
// Every AwsSolutions finding fails synth unless acknowledged with a reason in the construct.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
