import { Module, CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Readable } from 'stream';
import * as yauzl from 'yauzl';
import { ZipFile } from 'yazl';
import type { AuthenticatedRequest } from '../../src/auth/authenticated-user';

/** The entries of a zip in archive order, read with a library other than the one that wrote them. */
export async function readZip(archive: Buffer): Promise<{ name: string; data: Buffer }[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(archive, { lazyEntries: true }, (error, file) =>
      error ? reject(error) : resolve(file),
    ),
  );
  const entries: { name: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        entries.push({ name: entry.fileName, data: Buffer.concat(chunks) });
        zip.readEntry();
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

/** A zip of the given entries, in that order (to rebuild a tampered archive). */
export async function writeZip(entries: { name: string; data: Buffer }[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const { name, data } of entries) zip.addBuffer(data, name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as unknown as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface ExportResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export async function exportBackup(baseUrl: string, token: string): Promise<ExportResponse> {
  const response = await fetch(`${baseUrl}/backup/export`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

export async function importBackup(
  baseUrl: string,
  token: string,
  archive: Buffer | Readable,
  contentType = 'application/zip',
): Promise<{ status: number; body: any }> {
  const streamed = archive instanceof Readable;
  const response = await fetch(`${baseUrl}/backup/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: streamed ? (Readable.toWeb(archive) as ReadableStream) : archive,
    ...(streamed ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

/**
 * Test-only: every request arrives with these space memberships already set
 * (as a gateway in front of the service could do). AuthGuard keeps them; routes
 * with MembershipGuard replace them with the membership service's answer.
 */
export function presetSpaceIdsModule(spaceIds: string[]) {
  @Injectable()
  class PresetSpaceIdsGuard implements CanActivate {
    canActivate(context: ExecutionContext): boolean {
      const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
      request.user = { userId: request.user?.userId ?? '', spaceIds: [...spaceIds] };
      return true;
    }
  }
  @Module({ providers: [{ provide: APP_GUARD, useClass: PresetSpaceIdsGuard }] })
  class PresetSpaceIdsModule {}
  return PresetSpaceIdsModule;
}
