// Matchers such as toHaveReceivedCommandTimes for aws-sdk-client-mock.
import 'aws-sdk-client-mock-vitest/extend';
