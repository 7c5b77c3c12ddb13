/** The seeded generator lives with the data layer (OOD repartitions use it too; data sits below ml). */
export { Rng } from '../data/random';
