//! A leaver's offboarding, step by step as statemachines/offboarding.asl.json runs it.
