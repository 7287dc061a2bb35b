import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Nightshift, type NightshiftProps } from './nightshift.ts';

export interface NightshiftStackProps extends StackProps, NightshiftProps {}

/** The deployable stack: a thin wrapper around the {@link Nightshift} construct. */
export class NightshiftStack extends Stack {
  readonly nightshift: Nightshift;

  constructor(scope: Construct, id: string, props: NightshiftStackProps = {}) {
    super(scope, id, props);
    this.nightshift = new Nightshift(this, 'Nightshift', props);
  }
}
