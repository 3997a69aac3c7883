// The conformance suite with a matrixai client dialing a matrixai server.
import { describeConformance } from './kit.js'
import { SCENARIOS } from './scenarios.js'

describeConformance({ client: 'matrixai', server: 'matrixai' }, SCENARIOS)
