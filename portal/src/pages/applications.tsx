import { useState, type FormEvent } from 'react';
import { api, ApiError, appPath, type Application, type ListPage } from '../api';
import { useResource, useSession } from '../hooks';
import { Link } from '../router';
import { CopyButton, Field, formatTime, Icon, LoadError, Loading, Notice, PageHeader } from '../ui';

function CreateApplication({ onCreated }: { onCreated: () => void }) {
  const session = useSession();
  const [name, setName] = useState('');
  const [uid, setUid] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError(undefined);
    try {
      await api<Application>(session, 'POST', '/app', { body: { name: name.trim(), uid: uid.trim() || null } });
      setName('');
      setUid('');
      onCreated();
    } catch (caught) {
      if (caught instanceof ApiError && caught.problems.length > 0) {
        setFields(caught.fields);
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
    }
  };
  return (
    <form className="card form" onSubmit={(event) => void submit(event)} noValidate>
      <h2>New application</h2>
      {error ? <Notice tone="error">{error}</Notice> : null}
      <div className="form-row">
        <Field label="Name" error={fields.name}>
          {(props) => <input {...props} type="text" value={name} onChange={(event) => setName(event.target.value)} />}
        </Field>
        <Field label="Your id for it (uid, optional)" error={fields.uid}>
          {(props) => <input {...props} type="text" value={uid} onChange={(event) => setUid(event.target.value)} />}
        </Field>
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-primary">
          Create application
        </button>
      </div>
    </form>
  );
}

function PortalLink({ application, readOnly }: { application: Application; readOnly: boolean }) {
  const session = useSession();
  const [link, setLink] = useState<string>();
  const [error, setError] = useState<string>();
  const create = async () => {
    try {
      const access = await api<{ url: string }>(session, 'POST', `/auth/app-portal-access/${application.id}`, { body: readOnly ? { readOnly: true } : {} });
      setLink(access.url);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  if (error) {
    return <span className="field-error">{error}</span>;
  }
  if (link) {
    return (
      <span className="link-out">
        <CopyButton text={link} label={readOnly ? 'Copy read-only link' : 'Copy customer link'} />
      </span>
    );
  }
  return (
    <button type="button" className="button button-small" onClick={() => void create()}>
      {readOnly ? 'Read-only link' : 'Customer link'}
      <span className="visually-hidden"> for {application.name}</span>
    </button>
  );
}

export function ApplicationsPage() {
  const session = useSession();
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const [pages, setPages] = useState(1);
  const applications = useResource(
    async (signal) => {
      const all: Application[] = [];
      let iterator: string | undefined;
      let done = false;
      for (let page = 0; page < pages && !done; page += 1) {
        const result = await api<ListPage<Application>>(session, 'GET', '/app', { query: { limit: 250, iterator, order: 'descending' }, signal });
        all.push(...result.data);
        iterator = result.iterator ?? undefined;
        done = result.done;
      }
      return { all, done };
    },
    [pages],
  );
  const query = search.trim().toLowerCase();
  const loaded = (applications.data?.all ?? []).filter((application) => `${application.name} ${application.uid ?? ''} ${application.id}`.toLowerCase().includes(query));
  // Only the loaded pages are searched by name; an exact id or uid is also looked up on the server.
  const exactQuery = search.trim();
  const exact = useResource(
    async (signal) => {
      if (!/^[a-zA-Z0-9\-_.]+$/.test(exactQuery) || loaded.length > 0) {
        return undefined;
      }
      return api<Application>(session, 'GET', `/app/${encodeURIComponent(exactQuery)}`, { signal }).catch(() => undefined);
    },
    [exactQuery, loaded.length > 0],
  );
  const shown = loaded.length === 0 && exact.data ? [exact.data] : loaded;

  return (
    <section className="page">
      <PageHeader
        title="Applications"
        subtitle="Each application is one customer that receives webhooks."
        actions={
          <button type="button" className="button button-primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            <Icon name="plus" /> New application
          </button>
        }
      />
      {creating ? (
        <CreateApplication
          onCreated={() => {
            setCreating(false);
            applications.reload();
          }}
        />
      ) : null}
      <div className="filters">
        <label htmlFor="app-search" className="visually-hidden">
          Search applications
        </label>
        <input id="app-search" type="search" placeholder="Search by name, uid or id" value={search} onChange={(event) => setSearch(event.target.value)} />
      </div>
      <LoadError error={applications.error} what="Applications" />
      {applications.loading && !applications.data ? <Loading what="applications" /> : null}
      {applications.data && shown.length === 0 ? <p className="muted">No application {query ? `matches “${search}”` : 'yet'}.</p> : null}
      {shown.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Applications">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
                <th scope="col">Portal</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((application) => (
                <tr key={application.id}>
                  <td>
                    <Link to={`${appPath(application.id)}/endpoints`} className="strong-link">
                      {application.name}
                    </Link>
                  </td>
                  <td>
                    <span className="mono small">{application.id}</span>
                    {application.uid ? <div className="muted small">uid {application.uid}</div> : null}
                  </td>
                  <td>{formatTime(application.createdAt)}</td>
                  <td>
                    <div className="row-actions">
                      <Link to={`${appPath(application.id)}/endpoints`} className="button button-small">
                        Open portal<span className="visually-hidden"> of {application.name}</span>
                      </Link>
                      <PortalLink application={application} readOnly={false} />
                      <PortalLink application={application} readOnly />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {applications.data && !applications.data.done ? (
        <button type="button" className="button" onClick={() => setPages(pages + 1)}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
