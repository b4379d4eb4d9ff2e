import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/store/data-source-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:run|revert|show`).
 * Without DATABASE_URL it targets the embedded PostgreSQL of `npm start`,
 * which must be running.
 */
const { database } = loadConfig();
const url = database.url ?? `postgres://postgres:postgres@127.0.0.1:${database.embedded.port}/sync`;

export default new DataSource(dataSourceOptions(database, url));
