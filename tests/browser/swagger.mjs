// Drives Swagger UI the way a person does: open an operation, "Try it out", edit
// the example body, "Execute", and read the "Server response" table it shows.

/** The block of one operation, e.g. operation(page, 'post', '/login'). */
export function operation(page, method, path) {
  return page.locator(`.opblock-${method}`, {
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
}

/**
 * Opens the operation, presses "Try it out", lets `edit` change the example body
 * (parsed from the text area), presses "Execute" and returns what the page shows.
 */
export async function tryItOut(page, method, path, edit) {
  const block = operation(page, method, path);
  await block.locator('.opblock-summary').click();
  await block.getByRole('button', { name: 'Try it out' }).click();
  const body = block.locator('textarea.body-param__text');
  const example = JSON.parse(await body.inputValue());
  await body.fill(JSON.stringify(edit(example), null, 2));
  await block.getByRole('button', { name: 'Execute' }).click();
  return { block, response: await shownResponse(block) };
}

/** The status code, body and headers in the "Server response" table of a block. */
async function shownResponse(block) {
  const row = block.locator('.live-responses-table tr.response');
  await row.waitFor();
  const status = Number((await row.locator('.response-col_status').textContent()).trim());
  const bodyText = await row.locator('.highlight-code code').textContent();
  const headerLines = await row.locator('.headerline').allTextContents();
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
    }),
  );
  return { status, body: JSON.parse(bodyText), headers };
}
