/** Data every page's layout needs; each page adds its own view model. */
export interface PageModel {
  title: string;
  [key: string]: unknown;
}

/** Server-rendered pages; templates get plain view models, never domain objects or the Koa context. */
export interface Views {
  /** Renders `views/<name>.ejs` inside `views/layout.ejs`. */
  render(name: string, model: PageModel): Promise<string>;
}
