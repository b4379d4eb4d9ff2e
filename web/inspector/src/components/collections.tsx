import type { AppsAnswer } from '../api';
import { showAgo } from '../format';

export interface Selection {
  app?: string;
  collection?: string;
  record?: string;
}

interface Props {
  apps: AppsAnswer;
  selected: Selection;
  onSelect: (selection: Selection) => void;
}

/** The user's apps and their collections: rows, records, last change, spaces. */
export function Collections({ apps, selected, onSelect }: Props) {
  if (apps.apps.length === 0) {
    return (
      <section class="panel" aria-labelledby="collections-title">
        <h2 id="collections-title">Collections</h2>
        <p class="empty">
          No changes yet. Push one (the README's quickstart does) and watch it arrive under Live.
        </p>
      </section>
    );
  }
  return (
    <section class="panel" aria-labelledby="collections-title">
      <h2 id="collections-title">Collections</h2>
      {apps.apps.map((app) => (
        <div class="app" key={app.appId}>
          <h3>{app.appId}</h3>
          <ul class="collections">
            {app.collections.map((c) => {
              const current = selected.app === app.appId && selected.collection === c.name;
              return (
                <li key={c.name}>
                  <button
                    type="button"
                    class={current ? 'collection current' : 'collection'}
                    aria-current={current ? 'true' : undefined}
                    data-collection={`${app.appId}/${c.name}`}
                    onClick={() => onSelect({ app: app.appId, collection: c.name })}
                  >
                    <span class="name">{c.name}</span>
                    <span class="counts">
                      {c.records} {c.records === 1 ? 'record' : 'records'} · {c.rows}{' '}
                      {c.rows === 1 ? 'change' : 'changes'}
                    </span>
                    <span class="meta" title={c.lastChangeAt}>
                      last change {showAgo(c.lastChangeAt)}
                      {c.spaces.length > 0 && ` · spaces: ${c.spaces.join(', ')}`}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
      {apps.truncated && <p class="meta">Only the first 1,000 collections are listed.</p>}
    </section>
  );
}
