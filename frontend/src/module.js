import { AppPlugin, DataSourcePlugin } from '@grafana/data';

import { AppRootPage } from './AppRootPage';
import { ConfigEditor } from './ConfigEditor';
import { getConfig } from './config';
import { DataSource } from './datasource';
import { QueryEditor } from './QueryEditor';

function createPlugin() {
  if (getConfig().type === 'app') {
    return new AppPlugin().setRootPage(AppRootPage);
  }
  return new DataSourcePlugin(DataSource).setConfigEditor(ConfigEditor).setQueryEditor(QueryEditor);
}

export const plugin = createPlugin();
