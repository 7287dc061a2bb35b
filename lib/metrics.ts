import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** A count the Lambdas publish (EMF, namespace `Nightshift`, dimension `service`), summed per five minutes. */
export function nightshiftCount(metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'Nightshift',
    metricName,
    dimensionsMap: { service: 'nightshift' },
    statistic: 'Sum',
    period: Duration.minutes(5),
  });
}
