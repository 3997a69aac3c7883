// The conformance suite with a quinn client dialing a quinn server.
import { describeConformance } from './kit.js'
import { SCENARIOS } from './scenarios.js'

describeConformance({ client: 'quinn', server: 'quinn' }, SCENARIOS)
