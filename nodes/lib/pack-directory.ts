import type { InfoPayload } from '../../src/protocol/types';

/**
 * Which pack (serial number) sits at which address, from the device-info frames seen on one
 * bus. Latest wins: a serial number lives at one address only, and an address holds one pack,
 * so an info frame (address A, serial S) forgets S anywhere else and whatever A held before.
 * Used to follow a pack whose DIP address changed and to name packs in the editor.
 */
export class PackDirectory {
  private readonly byAddress = new Map<number, InfoPayload>();
  private readonly bySerial = new Map<string, number>();

  /** Record an info frame. */
  learn(address: number, info: InfoPayload): void {
    const serial = info.serialNumber;
    const previous = this.byAddress.get(address);
    if (previous && previous.serialNumber !== serial) this.bySerial.delete(previous.serialNumber);
    if (serial) {
      const elsewhere = this.bySerial.get(serial);
      if (elsewhere !== undefined && elsewhere !== address) this.byAddress.delete(elsewhere);
      this.bySerial.set(serial, address);
    }
    this.byAddress.set(address, info);
  }

  /** Address where the pack with this serial number was last seen, or undefined. */
  addressOf(serial: string): number | undefined {
    return this.bySerial.get(serial);
  }

  /** Latest device info of the pack at this address, or undefined when not (or no longer) known. */
  infoAt(address: number): InfoPayload | undefined {
    return this.byAddress.get(address);
  }

  clear(): void {
    this.byAddress.clear();
    this.bySerial.clear();
  }
}
