#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NightshiftStack } from '../lib/nightshift-stack.ts';

const app = new App();
new NightshiftStack(app, app.node.tryGetContext('stackName') ?? 'Nightshift', {
  configPath: app.node.tryGetContext('configPath') ?? 'config/schedule.json',
  alarmEmail: app.node.tryGetContext('alarmEmail'),
  accountSecrets: app.node.tryGetContext('accountSecrets') === 'import' ? 'import' : 'create',
  description: 'Nightshift: Huawei Cloud tasks on a schedule',
});
// Every AwsSolutions finding fails synth unless acknowledged with a reason in the construct.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
