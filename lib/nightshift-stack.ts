import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { readConfigFileSync } from './config-file.ts';

export interface NightshiftStackProps extends StackProps {
  /** Path of the schedule config; validated at synth. Default `config/schedule.json`. */
  configPath?: string;
}

/**
 * The Nightshift stack. For now it validates the schedule config at synth, so a bad config fails
 * `cdk synth` with the same path-named errors as `nightshift validate`; the runtime resources
 * follow with the AWS runtime and infrastructure work.
 */
export class NightshiftStack extends Stack {
  constructor(scope: Construct, id: string, props: NightshiftStackProps = {}) {
    super(scope, id, props);
    readConfigFileSync(props.configPath ?? 'config/schedule.json');
  }
}
