import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Is the database reachable? For readiness only: reads no user data, so no RLS transaction. */
@Injectable()
export class DatabaseProbe {
  constructor(private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
