import type { INestApplication } from '@nestjs/common';

interface ExpressLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

/** Every `METHOD /path` the app's Express router answers (Express `:param` form), except the docs UI. */
export function servedRoutes(app: INestApplication): string[] {
  const express = app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } };
  return express.router.stack.flatMap((layer) => {
    const route = layer.route;
    if (!route) return [];
    const paths = Array.isArray(route.path) ? route.path : [route.path];
    return paths
      .filter((path) => !/^\/docs(\/|$)/.test(path))
      .flatMap((path) =>
        Object.keys(route.methods)
          .filter((method) => route.methods[method] && method !== '_all')
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
  });
}
