/**
 * The temperatures of a simulated pack (src/sim/model.ts): the MOS and five cell sensors, which
 * follow the ambient plus the warmth of the current with first-order lags (the sensors with a
 * little reading noise), and the temperature block of its live data.
 */
import type { Temperatures } from '../protocol';
import type { Rng } from './rng';

export class Thermal {
  /** MOS temperature, °C. */
  private mos: number;
  private sensors: number[];

  /** Draws the five sensors' offsets from `rng` (one range() each). */
  constructor(
    private readonly ambient: number,
    rng: Rng,
  ) {
    this.mos = ambient + 2;
    this.sensors = [0, 1, 2, 3, 4].map(() => ambient + rng.range(-0.5, 0.5));
  }

  get mosC(): number {
    return this.mos;
  }

  /** One step of `dt` s carrying `currentA` (either sign); one normal() of `rng` per sensor. */
  step(currentA: number, dt: number, rng: Rng): void {
    const heat = Math.abs(currentA);
    this.mos += ((this.ambient + 2 + 0.06 * heat - this.mos) * dt) / 300;
    this.sensors = this.sensors.map((v, k) => v + ((this.ambient + 0.02 * heat + (k - 2) * 0.3 - v) * dt) / 900 + rng.normal() * 0.02);
  }

  /** The live data's temperatures, at a frame's resolution (0.1 °C). */
  temperatures(): Temperatures {
    const t = (v: number) => Math.round(v * 10) / 10 || 0;
    return {
      mos: t(this.mos),
      t1: t(this.sensors[0]!),
      t2: t(this.sensors[1]!),
      t3: t(this.mos),
      t4: t(this.sensors[3]!),
      t5: t(this.sensors[4]!),
    };
  }
}
