// The conformance suite with a quinn client dialing a matrixai server.
import { describeConformance } from './kit.js'
import { SCENARIOS } from './scenarios.js'

describeConformance({ client: 'quinn', server: 'matrixai' }, SCENARIOS)
