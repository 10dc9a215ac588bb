import mirage from './mirage.js';
import ocamlOrg from './ocaml-org.js';
import tarides from './tarides.js';

/** The three flavours of the original ocurrent-deployer, by the name `--flavour` takes. */
export const builtInFlavours = { tarides, 'ocaml-org': ocamlOrg, mirage } as const;

export type BuiltInFlavourName = keyof typeof builtInFlavours;
