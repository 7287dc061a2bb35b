#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { NightshiftStack } from '../lib/nightshift-stack.ts';

const app = new App();
new NightshiftStack(app, app.node.tryGetContext('stackName') ?? 'Nightshift', {
  configPath: app.node.tryGetContext('configPath') ?? 'config/schedule.json',
});
