import { CairnError, ErrorCode } from '@cairn/client';
import { isHealthy, type Instance } from './instance.js';

export type PickStrategy = 'round-robin' | 'random' | 'weighted';

/** Chooses one instance out of the current ones, never a critical one (undefined when there is none). */
export interface Picker {
  pick(instances: readonly Instance[]): Instance | undefined;
}

/** A number in [0, 1); injectable so that tests can be exact. */
export type Random = () => number;

export function createPicker(strategy: PickStrategy, random: Random = Math.random): Picker {
  const p = pickerOf(strategy, random);
  return { pick: (instances) => p.pick(instances.some((i) => !isHealthy(i)) ? instances.filter(isHealthy) : instances) };
}

function pickerOf(strategy: PickStrategy, random: Random): Picker {
  switch (strategy) {
    case 'round-robin': {
      let next = 0;
      return {
        pick(instances) {
          if (instances.length === 0) return undefined;
          const i = next % instances.length;
          next = (i + 1) % instances.length;
          return instances[i];
        },
      };
    }
    case 'random':
      return { pick: (instances) => instances[Math.floor(random() * instances.length)] };
    case 'weighted':
      return {
        pick(instances) {
          const total = instances.reduce((sum, i) => sum + i.weight, 0);
          // All weights 0: every instance is as good as another.
          if (total <= 0) return instances[Math.floor(random() * instances.length)];
          let x = random() * total;
          for (const inst of instances) {
            if (inst.weight <= 0) continue;
            x -= inst.weight;
            if (x < 0) return inst;
          }
          return instances.findLast((i) => i.weight > 0);
        },
      };
    default:
      throw new CairnError(ErrorCode.InvalidArgument, `unknown pick strategy ${JSON.stringify(strategy as string)}`);
  }
}
